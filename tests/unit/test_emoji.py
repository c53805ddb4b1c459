"""Emoji names are the same whether a member types :pray:, pray, 🙏 or 🙏🏽."""

from __future__ import annotations

import pytest

from bot.domain import Settings
from bot.emoji import emoji_name
from bot.settings import change


@pytest.mark.parametrize("text", ["pray", ":pray:", "🙏", "🙏🏽", " PRAY "])
def test_every_spelling_of_pray_is_pray(text: str) -> None:
    assert emoji_name(text) == "pray"


def test_an_unknown_unicode_emoji_is_its_own_name() -> None:
    assert emoji_name("🦄") == "🦄"


def test_settings_store_the_names_platforms_report() -> None:
    settings = change(Settings(), "thanks-emoji", "👍, :raised_hands:, 🦄")
    assert settings.thanks_emoji == ("+1", "raised_hands", "🦄")

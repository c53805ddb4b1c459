"""Emoji names are the same whether a member types :pray:, pray, 🙏 or 🙏🏽."""

from __future__ import annotations

import pytest
from emoji import EMOJI_DATA
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import Settings
from bot.emoji import emoji_name, is_thanks_emoji
from bot.settings import change


@pytest.mark.parametrize("text", ["pray", ":pray:", "🙏", "🙏🏽", " PRAY "])
def test_every_spelling_of_pray_is_pray(text: str) -> None:
    assert emoji_name(text) == "pray"


def test_a_character_that_is_no_emoji_is_its_own_name() -> None:
    assert emoji_name("\ue000") == "\ue000"


@pytest.mark.parametrize(("spellings", "name"), [
    (["👍", "👍🏿", "thumbsup", ":+1:", "+1"], "+1"),
    (["😍", "heart_eyes", ":heart_eyes:"], "heart_eyes"),  # not in any table of leanon's
    (["🦄", "unicorn", "unicorn_face"], "unicorn_face"),
    (["🤩", "star-struck", "star_struck"], "star_struck"),
    (["🥇", "first_place_medal", "1st_place_medal"], "first_place_medal"),
    (["🫡", "saluting_face"], "saluting_face"),  # newer than any alias
    (["partyparrot", ":PartyParrot:"], "partyparrot"),  # a custom emoji
])
def test_every_spelling_of_an_emoji_has_one_name(spellings: list[str], name: str) -> None:
    assert {emoji_name(s) for s in spellings} == {name}


def test_settings_store_the_names_platforms_report() -> None:
    settings = change(Settings(), "thanks-emoji", "👍, :raised_hands:, 🦄, heart_eyes")
    assert settings.thanks_emoji == ("+1", "raised_hands", "unicorn_face", "heart_eyes")


def test_a_reaction_counts_in_any_spelling_of_a_thanks_emoji() -> None:
    assert is_thanks_emoji(emoji_name("😍"), ("heart_eyes",))
    assert is_thanks_emoji("heart_eyes", ("😍",))
    assert is_thanks_emoji("+1", ("thumbsup",))  # a name stored in another spelling
    assert not is_thanks_emoji("eyes", ("heart_eyes",))


@given(st.one_of(st.text(max_size=30), st.sampled_from(sorted(EMOJI_DATA)),
                 st.from_regex(r":?[a-z0-9_+\-]{1,30}:?", fullmatch=True)))
def test_a_name_is_its_own_name(text: str) -> None:
    """What leanon stores names itself: a stored list matches what it matched when stored."""
    name = emoji_name(text)
    assert emoji_name(name) == name

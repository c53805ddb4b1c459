"""The encouragement texts: every theme and tip covered, nothing copied from the article."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.content import THEMES, TIPS, load_content

# The article lives in the shared folder beside the repository (LEANON_ARTICLE overrides).
ARTICLE = Path(os.environ.get(
    "LEANON_ARTICLE",
    Path(__file__).resolve().parents[3] / "shared" / "reference" / "asking-for-help-article.txt"))


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("’", "'").replace("'", ""))


def runs(text: str, n: int = 8) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


def test_every_theme_and_tip_has_at_least_three_distinct_messages() -> None:
    content = load_content()
    assert tuple(content.themes) == THEMES
    assert tuple(content.tips) == TIPS
    for topic in [*content.themes.values(), *content.tips.values()]:
        assert len(set(topic.messages)) >= 3, topic.key
        assert topic.title


@pytest.mark.skipif(not ARTICLE.exists(), reason=f"the article is not at {ARTICLE}")
def test_no_eight_word_run_of_the_article_appears() -> None:
    article = runs(ARTICLE.read_text(encoding="utf-8"))
    content = load_content()
    for topic in [*content.themes.values(), *content.tips.values()]:
        for message in (topic.title, *topic.messages):
            copied = runs(message) & article
            assert not copied, f"{topic.key}: {' '.join(next(iter(copied)))}"


def test_the_check_would_catch_a_copied_sentence() -> None:
    sentence = "Asking for help isn't a sign of weakness; it's a sign of strength."
    assert runs(sentence) & runs("x " + sentence + " y")


def test_rotation_visits_every_theme_before_repeating() -> None:
    content = load_content()
    used: tuple[str, ...] = ()
    seen = []
    for _ in range(len(THEMES) * 2):
        theme, used = content.next_theme(used)
        seen.append(theme)
    assert seen[:len(THEMES)] == list(THEMES)
    assert seen[len(THEMES):] == list(THEMES)

"""The encouragement texts, kept as data in `themes.toml`, and their rotation."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

THEMES = (
    "no_one_has_all_the_answers",
    "it_builds_stronger_relationships",
    "its_a_time_saver",
    "its_okay_not_to_be_okay",
    "it_opens_the_door_for_reciprocity",
)
TIPS = ("be_specific", "be_grateful", "reciprocate")


@dataclass(frozen=True, slots=True)
class Topic:
    key: str
    title: str
    messages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Content:
    themes: dict[str, Topic]
    tips: dict[str, Topic]

    def next_theme(self, used: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
        """The theme to post next and the rotation after it: every theme once, then again."""
        remaining = [t for t in self.themes if t not in used]
        if not remaining:
            used, remaining = (), list(self.themes)
        theme = remaining[0]
        return theme, (*used, theme)

    def theme_message(self, theme: str, posts_sent: int) -> str:
        """Within a theme, its messages take turns from one cycle to the next."""
        messages = self.themes[theme].messages
        return messages[(posts_sent // len(self.themes)) % len(messages)]

    def tip(self, posts_sent: int) -> Topic:
        key = TIPS[posts_sent % len(TIPS)]
        return self.tips[key]

    def tip_message(self, posts_sent: int) -> str:
        messages = self.tip(posts_sent).messages
        return messages[(posts_sent // len(TIPS)) % len(messages)]


def _topics(table: dict[str, dict[str, object]], keys: tuple[str, ...]) -> dict[str, Topic]:
    topics = {}
    for key in keys:
        entry = table[key]
        messages = entry["messages"]
        if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
            raise ValueError(f"content: {key}.messages must be a list of strings")
        topics[key] = Topic(key, str(entry["title"]), tuple(messages))
    return topics


def load_content() -> Content:
    """Read the packaged texts; every theme and tip must be there."""
    raw = tomllib.loads(resources.files(__package__).joinpath("themes.toml").read_text("utf-8"))
    return Content(themes=_topics(raw["themes"], THEMES), tips=_topics(raw["tips"], TIPS))

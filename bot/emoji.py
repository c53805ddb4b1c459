"""Emoji names: leanon names emoji the way Slack does (pray, raised_hands, +1).

Every spelling of an emoji gets one name: the character (🙏, 🙏🏽), its Slack or GitHub short
name with or without colons (`pray`, `:pray:`), another alias (`thumbsup` is `+1`,
`star-struck` is `star_struck`). The names and aliases come from the `emoji` package (its
`alias` set, which follows GitHub's and Slack's); leanon overrides the few whose first alias
is not the name Slack reports. A custom emoji (`:partyparrot:`) keeps its own name.
"""

from __future__ import annotations

import functools
import re

import emoji as emoji_data

# Where Slack's name differs from the package's first alias (a reaction event says `+1`).
SLACK_NAMES = {"👍": "+1", "🥇": "first_place_medal"}
_SLACK_CHARACTERS = {name: char for char, name in SLACK_NAMES.items()}

# Skin tones (U+1F3FB–U+1F3FF) and the emoji presentation selector (U+FE0F) don't change
# which emoji it is: 🙏🏽 thanks like 🙏.
_VARIANTS = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")
_NAME_MAX_CHARS = 100  # longer is no emoji's name (and never looked up)


@functools.lru_cache(maxsize=4096)
def emoji_name(text: str) -> str:
    """leanon's name for an emoji as a member or a platform writes it.

    `:pray:`, `pray`, 🙏 and 🙏🏽 are all `pray`; `thumbsup`, `+1` and 👍 are all `+1`; a
    unicode emoji with no short name is its own name; other names are lower-cased.
    """
    stripped = text.strip().strip(":")
    base = _VARIANTS.sub("", stripped)
    if base in emoji_data.EMOJI_DATA:
        return _name_of(base)
    name = base.lower()
    if not name or len(name) > _NAME_MAX_CHARS or not name.isascii():
        return name
    char = _characters().get(name)
    return _name_of(char) if char is not None else name


def _name_of(char: str) -> str:
    if char in SLACK_NAMES:
        return SLACK_NAMES[char]
    data = emoji_data.EMOJI_DATA[char]
    names = data.get("alias") or [data["en"]]  # newer emoji have no alias: their CLDR name
    return str(names[0]).strip(":").lower()


@functools.cache
def _characters() -> dict[str, str]:
    """Every alias and CLDR name, lower-cased, → its emoji (without variation selectors).
    Each emoji's own name (`_name_of`) comes first, so that a name names itself: `horse` is
    🐴's alias and 🐎's CLDR name, and stays 🐴's."""
    found: dict[str, str] = dict(_SLACK_CHARACTERS)
    for char in emoji_data.EMOJI_DATA:
        if _VARIANTS.sub("", char) == char:
            found.setdefault(_name_of(char), char)
    for char, data in emoji_data.EMOJI_DATA.items():
        plain = _VARIANTS.sub("", char)
        if plain in emoji_data.EMOJI_DATA:  # 🙏🏽's names are 🙏's
            for name in (*data.get("alias", ()), data["en"]):
                found.setdefault(str(name).strip(":").lower(), plain)
    return found


def is_thanks_emoji(name: str, thanks_emoji: tuple[str, ...]) -> bool:
    """Whether the reaction `name` (leanon's name, as `emoji_name` gives it: adapters name
    what the platform reports) is one of the workspace's thanks emoji, as stored in any
    spelling (names stored before this naming still match)."""
    return name in _names(thanks_emoji)


@functools.lru_cache(maxsize=256)
def _names(thanks_emoji: tuple[str, ...]) -> frozenset[str]:
    return frozenset(emoji_name(e) for e in thanks_emoji)

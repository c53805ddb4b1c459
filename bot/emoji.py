"""Emoji names: leanon names emoji the way Slack does (pray, raised_hands, +1)."""

from __future__ import annotations

import re

UNICODE_NAMES: dict[str, str] = {
    "🙏": "pray",
    "🙌": "raised_hands",
    "👍": "+1",
    "👏": "clap",
    "🤝": "handshake",
    "🫶": "heart_hands",
    "❤": "heart",
    "🧡": "orange_heart",
    "💛": "yellow_heart",
    "💚": "green_heart",
    "💙": "blue_heart",
    "💜": "purple_heart",
    "💖": "sparkling_heart",
    "🎉": "tada",
    "🥳": "partying_face",
    "✨": "sparkles",
    "⭐": "star",
    "🌟": "star2",
    "💯": "100",
    "🏆": "trophy",
    "🥇": "first_place_medal",
    "💪": "muscle",
    "🚀": "rocket",
    "🔥": "fire",
    "✅": "white_check_mark",
    "👀": "eyes",
    "🤗": "hugging_face",
    "😊": "blush",
}

# Skin tones (U+1F3FB–U+1F3FF) and the emoji presentation selector (U+FE0F) don't change
# which emoji it is: 🙏🏽 thanks like 🙏.
_VARIANTS = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")


def emoji_name(text: str) -> str:
    """leanon's name for an emoji as a member or a platform writes it.

    `:pray:`, `pray`, 🙏 and 🙏🏽 are all `pray`; a unicode emoji with no name here is
    its own name; other names are lower-cased.
    """
    stripped = text.strip().strip(":")
    base = _VARIANTS.sub("", stripped)
    return UNICODE_NAMES.get(base, base.lower())

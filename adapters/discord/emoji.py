"""Discord reaction emoji → leanon's emoji names (the Slack-style short names settings use)."""

from __future__ import annotations

import re

import discord

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


def emoji_name(emoji: discord.PartialEmoji) -> str | None:
    """leanon's name for a reaction emoji; None when it has no usable name.

    Custom guild emoji keep their own name (lower case), so `:kudos:` is `kudos`;
    unicode emoji leanon has no name for are passed as the emoji itself.
    """
    if not emoji.name:
        return None
    if emoji.is_custom_emoji():
        return emoji.name.lower()
    base = _VARIANTS.sub("", emoji.name)
    return UNICODE_NAMES.get(base, base) or None

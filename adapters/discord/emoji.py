"""Discord reaction emoji → leanon's emoji names (the Slack-style short names settings use)."""

from __future__ import annotations

import discord

from bot.emoji import emoji_name as core_emoji_name


def emoji_name(emoji: discord.PartialEmoji) -> str | None:
    """leanon's name for a reaction emoji; None when it has no usable name.

    Custom guild emoji keep their own name (lower case), so `:kudos:` is `kudos`;
    unicode emoji leanon has no name for are passed as the emoji itself.
    """
    if not emoji.name:
        return None
    if emoji.is_custom_emoji():
        return emoji.name.lower()
    return core_emoji_name(emoji.name) or None

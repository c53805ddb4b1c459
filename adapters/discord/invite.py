"""The invite link: exactly the OAuth2 scopes and bot permissions leanon needs."""

from __future__ import annotations

import discord

SCOPES = ("bot", "applications.commands")

# Why each permission: see the cards and notes (view, send, embed links), talk in ask
# threads (create public threads, send in threads), read thread authors at "Resolved" and
# the author of a reacted message when Discord leaves it out (read message history).
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    read_message_history=True,
)


def invite_url(client_id: str | int) -> str:
    """The URL a server admin opens to add leanon to a server."""
    return discord.utils.oauth_url(client_id, permissions=PERMISSIONS, scopes=SCOPES)

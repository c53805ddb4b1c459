"""`bot.ports.Directory` for Discord: members and threads from discord.py's cache, a
thread's authors from its history (Discord's interactions already say who is an admin)."""

from __future__ import annotations

import asyncio
import logging

import discord

from adapters.discord.render import message_url
from bot.domain import MessageRef, WorkspaceRef
from bot.errors import ChatError

log = logging.getLogger(__name__)

THREAD_LOOKUP_SECONDS = 1.0
THREAD_AUTHORS_READ = 100  # the last messages of a card's thread (one page)


def thread_parent(client: discord.Client, channel_id: int) -> MessageRef | None:
    """A thread started on a message has that message's id: the card, in the parent channel."""
    channel = client.get_channel(channel_id)
    if isinstance(channel, discord.Thread) and channel.parent_id is not None:
        return MessageRef(str(channel.parent_id), str(channel.id))
    return None


class DiscordDirectory:
    """What the core asks of Discord about members and threads."""

    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def is_admin(self, workspace: WorkspaceRef, user_id: str) -> bool:
        """As a cached member's permissions say (an interaction says it of its member)."""
        guild = self._client.get_guild(int(workspace.workspace_id)) \
            if workspace.workspace_id.isdigit() else None
        member = guild.get_member(int(user_id)) if guild is not None and user_id.isdigit() else None
        if member is None:
            return False
        permissions = member.guild_permissions
        return permissions.administrator or permissions.manage_guild

    async def is_bot(self, workspace: WorkspaceRef, user_id: str) -> bool:
        """The bot itself, or a user the client has seen to be a bot."""
        if not user_id.isdigit():
            return False
        me = self._client.user
        if me is not None and me.id == int(user_id):
            return True
        user = self._client.get_user(int(user_id))
        return user is not None and user.bot

    async def thread_of(self, workspace: WorkspaceRef, ref: MessageRef) -> MessageRef | None:
        return thread_parent(self._client, int(ref.channel_id)) \
            if ref.channel_id.isdigit() else None

    async def thread_authors(self, workspace: WorkspaceRef, parent: MessageRef) -> tuple[str, ...]:
        """Members (not bots) who wrote in the card's thread (its id is the card's)."""
        thread = self._client.get_partial_messageable(int(parent.message_id),
                                                      guild_id=int(workspace.workspace_id))

        async def authors() -> tuple[str, ...]:
            found = [m.author async for m in thread.history(limit=THREAD_AUTHORS_READ)]
            return tuple(dict.fromkeys(str(a.id) for a in found if not a.bot))

        try:
            return await asyncio.wait_for(authors(), THREAD_LOOKUP_SECONDS)
        except discord.NotFound:
            return ()  # nobody started the thread
        except (discord.HTTPException, TimeoutError) as exc:
            raise ChatError(f"Discord could not list the thread's authors: "
                            f"{type(exc).__name__}") from exc

    async def time_zone(self, workspace: WorkspaceRef, user_id: str) -> str | None:
        return None  # Discord does not share a member's time zone: they say it

    async def message_url(self, workspace: WorkspaceRef, ref: MessageRef) -> str | None:
        return message_url(workspace.workspace_id, ref)

    async def is_private(self, workspace: WorkspaceRef, channel_id: str) -> bool:
        """A channel (or a thread's channel) that the server's @everyone can't view; True
        when the client does not know the channel."""
        channel = self._client.get_channel(int(channel_id)) if channel_id.isdigit() else None
        if isinstance(channel, discord.Thread):
            if channel.type is discord.ChannelType.private_thread:
                return True
            channel = channel.parent
        if not isinstance(channel, discord.abc.GuildChannel):
            return True
        return not channel.permissions_for(channel.guild.default_role).view_channel

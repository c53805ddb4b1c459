"""bot.ports.Chat on Discord: channel messages, card edits, ask threads, direct messages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Literal

import aiohttp
import discord

from adapters.discord.names import NameBook
from adapters.discord.render import label_mentions, render, shorten
from bot.domain import MessageRef, WorkspaceRef
from bot.errors import ChatError
from bot.messages import Message
from bot.text import preview

log = logging.getLogger(__name__)

THREAD_EXISTS = 160004  # "A thread has already been created for this message"
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080  # a week: asks stay open for days


@asynccontextmanager
async def refused(what: str) -> AsyncIterator[None]:
    """Turn Discord's failures into ChatError (with no member ids in the text)."""
    try:
        yield
    except discord.HTTPException as exc:
        # 4xx (but 429) fails the same way next time: no access, channel gone, bad request.
        permanent = 400 <= exc.status < 500 and exc.status != 429
        raise ChatError(f"Discord refused to {what}: HTTP {exc.status} "
                        f"(code {exc.code}) {exc.text[:200]}", permanent=permanent) from exc
    except (discord.DiscordException, aiohttp.ClientError, OSError, ValueError,
            RuntimeError) as exc:  # RuntimeError: the client was closed (shutting down)
        raise ChatError(f"Discord could not {what}: {type(exc).__name__}") from exc


class DiscordChat:
    """Implements bot.ports.Chat and OncePoster with a logged-in discord.py client (REST only)."""

    def __init__(self, client: discord.Client, names: NameBook) -> None:
        self._client = client
        self._names = names

    def _channel(self, channel_id: str, workspace: WorkspaceRef) -> discord.PartialMessageable:
        guild_id = int(workspace.workspace_id) if workspace.workspace_id.isdigit() else None
        return self._client.get_partial_messageable(int(channel_id), guild_id=guild_id)

    async def _send(self, channel: discord.abc.Messageable, workspace: WorkspaceRef,
                    messages: Sequence[Message], nonce: str | None = None,
                    footer: bool = True) -> discord.Message:
        names = await self._names.names(label_mentions(messages))
        rendered = render(messages, workspace.workspace_id)
        if nonce is not None:
            # The tag `find_post` looks for (history does not return nonces).
            for embed in rendered.embeds[:1] if footer else ():
                embed.set_footer(text=nonce)
            return await channel.send(**rendered.send_kwargs(names), nonce=nonce)
        return await channel.send(**rendered.send_kwargs(names))

    async def post(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                   nonce: str | None = None) -> MessageRef:
        """A message in a channel; with `nonce`, enforced (Discord answers a repeat within
        minutes with the first message) but kept out of the footer."""
        async with refused("post a message"):
            sent = await self._send(self._channel(channel_id, workspace), workspace, [message],
                                    nonce=nonce[:25] if nonce else None, footer=False)
        return MessageRef(channel_id, str(sent.id))

    async def update(self, workspace: WorkspaceRef, ref: MessageRef, message: Message) -> None:
        names = await self._names.names(label_mentions([message]))
        partial = self._channel(ref.channel_id, workspace).get_partial_message(int(ref.message_id))
        async with refused("edit a message"):
            await partial.edit(**render([message], workspace.workspace_id).edit_kwargs(names))

    async def reply(self, workspace: WorkspaceRef, parent: MessageRef, message: Message,
                    topic: str | None = None) -> MessageRef:
        """Send in the card's thread (whose id is the card's id), starting it when needed,
        named after `topic`."""
        thread = self._channel(parent.message_id, workspace)
        async with refused("reply in a thread"):
            try:
                sent = await self._send(thread, workspace, [message])
            except discord.NotFound:
                await self._start_thread(workspace, parent, topic)
                sent = await self._send(thread, workspace, [message])
        return MessageRef(parent.message_id, str(sent.id))

    async def _start_thread(self, workspace: WorkspaceRef, parent: MessageRef,
                            topic: str | None) -> None:
        channel: object = self._channel(parent.channel_id, workspace)
        if getattr(channel, "guild", None) is None:
            # Not in this process's cache (another shard's server): ask Discord once.
            channel = await self._client.fetch_channel(int(parent.channel_id))
        if not isinstance(channel, discord.PartialMessageable | discord.TextChannel
                          | discord.VoiceChannel):
            raise ChatError("the ask's channel can't hold threads")
        name = preview(topic, 90) if topic else "Ask for help"
        try:
            await channel.get_partial_message(int(parent.message_id)).create_thread(
                name=shorten(name, 100), auto_archive_duration=THREAD_ARCHIVE_MINUTES)
        except discord.HTTPException as exc:
            if exc.code != THREAD_EXISTS:  # someone else just started it: use theirs
                raise

    async def tell(
        self, workspace: WorkspaceRef, channel_id: str, user_id: str, message: Message
    ) -> None:
        """A direct message (Discord has no ephemeral messages outside interactions)."""
        async with refused("send a direct message"):
            dm = await self._client.create_dm(discord.Object(int(user_id)))
            await self._send(dm, workspace, [message])

    async def post_once(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                        nonce: str) -> MessageRef:
        """`post` with an enforced nonce: Discord returns the first message for a repeat
        within minutes; the nonce also goes in the embed's footer for `find_post`."""
        async with refused("post a message"):
            sent = await self._send(self._channel(channel_id, workspace), workspace, [message],
                                    nonce=nonce)
        return MessageRef(channel_id, str(sent.id))

    async def find_post(self, workspace: WorkspaceRef, channel_id: str, nonce: str,
                        since: datetime) -> MessageRef | None:
        """leanon's message tagged `nonce` in the channel since `since` (100 messages at most)."""
        me = self._client.user
        async with refused("read channel history"):
            async for item in self._channel(channel_id, workspace).history(after=since, limit=100):
                if me is None or item.author.id != me.id:
                    continue
                footers = {e.footer.text for e in item.embeds}
                if item.nonce == nonce or nonce in footers:
                    return MessageRef(channel_id, str(item.id))
        return None

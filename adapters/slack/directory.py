"""`bot.ports.Directory` for Slack: members from users.info, threads from
conversations.replies, each kept in a cache (Slack's events say neither)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from cachetools import LRUCache, TTLCache

from adapters.slack.auth import WorkspaceAuth
from adapters.slack.failures import call
from adapters.slack.kept import Kept
from adapters.slack.members import Members
from adapters.slack.render import message_url
from bot.domain import MessageRef, WorkspaceRef
from bot.errors import ChatError, StorageError

log = logging.getLogger(__name__)

THREADS_REMEMBERED = 10_000  # the least recently used are forgotten past these
CHANNELS_REMEMBERED = 10_000
WORKSPACES_REMEMBERED = 10_000
OWN_ID_SECONDS = 3600.0  # leanon's member id in a workspace (an install's does not change)
CHANNEL_SECONDS = 600.0  # a channel made private shows as such within this
THREAD_AUTHORS_READ = 200  # the first replies of a card's thread (one page)


class SlackDirectory:
    """What the core asks of Slack about members and threads."""

    def __init__(self, auth: WorkspaceAuth, members: Members,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._auth = auth
        self._members = members
        # The thread a message is in does not change: asked once, then remembered.
        self._threads: LRUCache[tuple[WorkspaceRef, MessageRef], MessageRef | None] = LRUCache(
            THREADS_REMEMBERED)
        self._private: TTLCache[tuple[WorkspaceRef, str], bool] = TTLCache(
            CHANNELS_REMEMBERED, CHANNEL_SECONDS)
        self._bot_users: Kept[WorkspaceRef, str] = Kept(WORKSPACES_REMEMBERED, OWN_ID_SECONDS,
                                                        clock)

    async def is_admin(self, workspace: WorkspaceRef, user_id: str) -> bool:
        return await self._members.is_admin(workspace, user_id)

    async def is_bot(self, workspace: WorkspaceRef, user_id: str) -> bool:
        """leanon itself (known without a look-up, even when users.info fails), Slackbot,
        bot users and app users."""
        return await self._members.is_bot(workspace, user_id, await self._own(workspace))

    async def _own(self, workspace: WorkspaceRef) -> str | None:
        """leanon's own member id in the workspace, remembered (an install's does not change)."""
        if (known := self._bot_users.get(workspace)) is not None:
            return known
        try:
            own = await self._auth.bot_user_id(workspace)
        except (ChatError, StorageError) as exc:
            log.info("leanon's own member id unknown: %s", exc)
            return None
        if own:
            self._bot_users.put(workspace, own)
        return own

    async def time_zone(self, workspace: WorkspaceRef, user_id: str) -> str | None:
        """The time zone of the member's Slack profile (users.info `tz`)."""
        info = await self._members.info(workspace, user_id)
        return info.time_zone if info is not None else None

    async def message_url(self, workspace: WorkspaceRef, ref: MessageRef) -> str | None:
        """The message's permalink, made from the workspace's address (auth.test's url)."""
        team_url = await self._auth.team_url(workspace)
        return message_url(team_url, ref) if team_url else None

    async def thread_of(self, workspace: WorkspaceRef, ref: MessageRef) -> MessageRef | None:
        """The thread's parent when the message is a thread reply, else None."""
        key = (workspace, ref)
        if key in self._threads:
            return self._threads[key]
        client = await self._auth.client_for(workspace)
        messages: list[dict[str, Any]] = []
        try:
            found = await call(client.conversations_replies, "conversations.replies",
                               channel=ref.channel_id, ts=ref.message_id, limit=1)
            messages = found.get("messages") or []
        except ChatError as exc:
            if exc.code != "thread_not_found":
                raise  # tried again later
            # Slack does not know the message (deleted, or never there): in no ask's thread.
        parent = None
        for message in messages:
            thread_ts = message.get("thread_ts")
            if message.get("ts") == ref.message_id and thread_ts and thread_ts != ref.message_id:
                parent = MessageRef(ref.channel_id, str(thread_ts))
        self._threads[key] = parent
        return parent

    async def thread_authors(self, workspace: WorkspaceRef, parent: MessageRef) -> tuple[str, ...]:
        """Members (not bots) who replied in the thread; ChatError when Slack won't say."""
        client = await self._auth.client_for(workspace)
        found = await call(client.conversations_replies, "conversations.replies",
                           channel=parent.channel_id, ts=parent.message_id,
                           limit=THREAD_AUTHORS_READ)
        users = [m.get("user") for m in found.get("messages") or []
                 if m.get("ts") != parent.message_id and not m.get("bot_id")
                 and m.get("subtype") is None]
        return tuple(dict.fromkeys(u for u in users if isinstance(u, str)))

    async def is_private(self, workspace: WorkspaceRef, channel_id: str) -> bool:
        """Private channels, direct messages and group DMs (conversations.info); True when
        Slack can't say now."""
        key = (workspace, channel_id)
        if (known := self._private.get(key)) is not None:
            return known
        try:
            client = await self._auth.client_for(workspace)
            found = await call(client.conversations_info, "conversations.info", channel=channel_id)
        except ChatError as exc:
            log.info("channel privacy unknown: %s", exc)
            return True
        channel = found.get("channel") or {}
        private = bool(channel.get("is_private") or channel.get("is_im") or channel.get("is_mpim"))
        self._private[key] = private
        return private

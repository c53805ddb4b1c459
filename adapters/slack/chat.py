"""`bot.ports.Chat` for Slack: chat.postMessage, chat.update, threads, DMs and ephemerals."""

from __future__ import annotations

import copy
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cachetools import LRUCache
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render
from adapters.slack.auth import WorkspaceAuth
from adapters.slack.failures import call
from adapters.slack.members import Members
from adapters.slack.pacing import Budgets
from bot.domain import MessageRef, WorkspaceRef
from bot.errors import ChatError
from bot.messages import Attachment, Message

log = logging.getLogger(__name__)


# Message metadata that tags a weekly post with its nonce (bot.ports.OncePoster).
POST_EVENT = "leanon_post"  # a weekly post's metadata (its nonce: schedule and week)
MESSAGE_EVENT = "leanon_message"  # any other channel message's (a nonce of its own)
FIND_POST_PAGES = 5
DM_CHANNELS_REMEMBERED = 10_000  # the least recently used are forgotten past these

def _retrying_only_rate_limits(client: AsyncWebClient) -> AsyncWebClient:
    """`client` with only its retry of 429 answers (a shallow copy: same token and session)."""
    once = copy.copy(client)
    once.retry_handlers = [handler for handler in client.retry_handlers
                           if isinstance(handler, AsyncRateLimitErrorRetryHandler)]
    return once


class SlackChat:
    """Implements bot.ports.Chat, OncePoster and Paced. Private notes go by DM (ephemeral as
    a fallback)."""

    def __init__(self, auth: WorkspaceAuth, members: Members) -> None:
        self.auth = auth
        self.members = members
        # A member's DM channel with the bot does not change: opened once, then remembered.
        self._dm_channels: LRUCache[tuple[WorkspaceRef, str], str] = LRUCache(DM_CHANNELS_REMEMBERED)
        self.budgets = Budgets()

    def pace(self, workspace: WorkspaceRef, kind: str, channel_id: str | None) -> float:
        """`bot.ports.Paced`: Slack's per-channel posting limit and method tiers."""
        return self.budgets.pace(workspace, kind, channel_id)

    async def _client(self, workspace: WorkspaceRef) -> AsyncWebClient:
        return await self.auth.client_for(workspace)

    async def render(self, workspace: WorkspaceRef, message: Message) -> dict[str, Any]:
        """`text` and `blocks` for `message` in this workspace (names, message links)."""
        names = await self.members.names(workspace, render.mentioned_in_buttons(message))
        return render.payload(message, names, await self.team_url(workspace))

    async def team_url(self, workspace: WorkspaceRef) -> str | None:
        try:
            return await self.auth.team_url(workspace)
        except ChatError:
            return None

    async def post(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                   nonce: str | None = None) -> MessageRef:
        """A message in a channel (an ask card, a thanks note), posted once.

        A 5xx or a dropped connection may come after Slack posted it, so it is tagged with a
        nonce and sent without the client's retry of those; after such a failure the channel
        is searched for it, and only if it is not there is it sent again (twice in all).
        """
        nonce = nonce or uuid.uuid4().hex
        since = datetime.now(UTC) - timedelta(minutes=1)  # Slack's clock, not ours
        for _ in range(2):
            try:
                return await self._post_tagged(workspace, channel_id, message, MESSAGE_EVENT,
                                               nonce)
            except ChatError as exc:
                if exc.permanent:
                    raise
                failure = exc
            found = await self._find_tagged(workspace, channel_id, (MESSAGE_EVENT,), nonce, since)
            if found is not None:
                return found
        raise failure

    async def update(self, workspace: WorkspaceRef, ref: MessageRef, message: Message) -> None:
        client = await self._client(workspace)
        await call(client.chat_update, "chat.update", channel=ref.channel_id, ts=ref.message_id,
                   **await self.render(workspace, message))

    async def reply(self, workspace: WorkspaceRef, parent: MessageRef, message: Message,
                    topic: str | None = None) -> MessageRef:
        client = await self._client(workspace)
        sent = await call(client.chat_postMessage, "chat.postMessage", channel=parent.channel_id,
                          thread_ts=parent.message_id, **await self.render(workspace, message))
        return MessageRef(parent.channel_id, str(sent["ts"]))

    async def post_once(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                        nonce: str) -> MessageRef:
        """`post`, tagged with `nonce` in the message's metadata (see `find_post`).

        Sent once: a 5xx or a dropped connection may come after Slack posted the message,
        so only a 429 (never posted) is tried again here; on any other failure the caller
        looks for the post with `find_post` before posting again.
        """
        return await self._post_tagged(workspace, channel_id, message, POST_EVENT, nonce)

    async def _post_tagged(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                           event_type: str, nonce: str) -> MessageRef:
        client = _retrying_only_rate_limits(await self._client(workspace))
        metadata = {"event_type": event_type, "event_payload": {"nonce": nonce}}
        sent = await call(client.chat_postMessage, "chat.postMessage", channel=channel_id,
                          metadata=metadata, **await self.render(workspace, message))
        return MessageRef(str(sent.get("channel") or channel_id), str(sent["ts"]))

    async def find_post(self, workspace: WorkspaceRef, channel_id: str, nonce: str,
                        since: datetime) -> MessageRef | None:
        """The bot's message tagged `nonce` in the channel since `since`: a weekly post
        (`post_once`) or another message posted with that nonce (`post`)."""
        return await self._find_tagged(workspace, channel_id, (POST_EVENT, MESSAGE_EVENT), nonce,
                                       since)

    async def _find_tagged(self, workspace: WorkspaceRef, channel_id: str, event_types: tuple[str, ...],
                           nonce: str, since: datetime) -> MessageRef | None:
        """The bot's message tagged `nonce` in the channel since `since` (a few pages back)."""
        client = await self._client(workspace)
        cursor = None
        for _ in range(FIND_POST_PAGES):
            found = await call(client.conversations_history, "conversations.history",
                               channel=channel_id, oldest=f"{since.timestamp():.6f}",
                               include_all_metadata=True, limit=200, cursor=cursor)
            for item in found.get("messages") or []:
                meta = item.get("metadata") or {}
                if meta.get("event_type") in event_types and (
                        meta.get("event_payload") or {}).get("nonce") == nonce:
                    return MessageRef(channel_id, str(item["ts"]))
            cursor = (found.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None

    async def dm_channel(self, workspace: WorkspaceRef, user_id: str) -> str:
        key = (workspace, user_id)
        if key in self._dm_channels:
            return self._dm_channels[key]
        client = await self._client(workspace)
        opened = await call(client.conversations_open, "conversations.open", users=user_id)
        channel = self._dm_channels[key] = str(opened["channel"]["id"])
        return channel

    async def dm(self, workspace: WorkspaceRef, user_id: str, message: Message) -> None:
        """A direct message from the bot to one member."""
        channel = await self.dm_channel(workspace, user_id)
        client = await self._client(workspace)
        try:
            await call(client.chat_postMessage, "chat.postMessage", channel=channel,
                       **await self.render(workspace, message))
        except ChatError:
            self._dm_channels.pop((workspace, user_id), None)  # opened again next time
            raise

    async def ephemeral(self, workspace: WorkspaceRef, channel_id: str, user_id: str,
                        message: Message) -> None:
        """A message only `user_id` sees, in a channel the bot is a member of."""
        client = await self._client(workspace)
        await call(client.chat_postEphemeral, "chat.postEphemeral", channel=channel_id,
                   user=user_id, **await self.render(workspace, message))

    async def tell(
        self, workspace: WorkspaceRef, channel_id: str, user_id: str, message: Message
    ) -> None:
        """A DM, so the note waits for the member; ephemeral in the channel if a DM fails."""
        try:
            await self.dm(workspace, user_id, message)
        except ChatError as exc:
            log.info("DM failed (%s); trying an ephemeral message", exc)
            await self.ephemeral(workspace, channel_id, user_id, message)

    async def upload(self, workspace: WorkspaceRef, user_id: str,
                     attachments: tuple[Attachment, ...]) -> None:
        """Files (exports) go to the member's DM with the bot."""
        channel = await self.dm_channel(workspace, user_id)
        client = await self._client(workspace)
        uploads = [{"content": a.content, "filename": a.filename, "title": a.filename}
                   for a in attachments]
        await call(client.files_upload_v2, "files.upload", file_uploads=uploads, channel=channel)

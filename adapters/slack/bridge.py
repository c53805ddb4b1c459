"""What every Slack listener shares: the core service, the Chat, private answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from adapters.slack.auth import WorkspaceAuth, workspace_ref
from adapters.slack.chat import SlackChat
from adapters.slack.deadline import Deadlines
from adapters.slack.delivered import Delivered, Deliveries, Respond
from adapters.slack.directory import SlackDirectory
from bot.commands import Command
from bot.domain import Settings, WorkspaceRef
from bot.errors import ChatError, StorageError
from bot.messages import Message, Reply, error
from bot.service import STORAGE_TROUBLE, Leanon
from bot.tasks import Tasks

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = error("leanon hit a problem and could not finish that. "
                             "Please try again in a moment.")


# An event's work, given the event and what is known of where it came from.
EventWork = Callable[[dict[str, Any], Delivered], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a member acted: whom and where to answer privately."""

    workspace: WorkspaceRef
    user_id: str
    channel_id: str | None = None
    respond: Respond | None = None


@dataclass
class Bridge:
    service: Leanon
    chat: SlackChat
    directory: SlackDirectory
    auth: WorkspaceAuth
    deliveries: Deliveries
    # Work that outlives the request that started it, kept so shutdown can wait for it.
    in_flight: Tasks = field(default_factory=lambda: Tasks("Slack tasks"))
    # How long an event may take before Slack is asked to deliver it again (its limit is 3 s).
    event_deadline: float = 2.5
    # Events handled at once; the rest wait their turn in arrival order, so that under a
    # burst (Socket Mode delivers without waiting) the first ones are answered in time.
    event_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(64))
    # Waits for events' work, each up to `event_deadline` (one timer for all).
    deadlines: Deadlines = field(default_factory=Deadlines)
    # Reaction events still running, by what identifies them (see events.within_deadline).
    running: dict[Hashable, asyncio.Future[None]] = field(default_factory=dict)
    # Events done before their answer, by type (run by bolt's listeners and the front door).
    events: dict[str, EventWork] = field(default_factory=dict)

    @staticmethod
    def workspace(context: Any) -> WorkspaceRef | None:
        return workspace_ref(context.enterprise_id, context.team_id)

    async def run(self, cmd: Command, origin: Origin) -> None:
        """Run a member's command and answer them privately; database trouble is explained."""
        try:
            reply = await self.service.handle(cmd)
        except StorageError as exc:
            log.warning("database unavailable for %s: %s", type(cmd).__name__, exc)
            reply = Reply.of(STORAGE_TROUBLE)
        except ChatError:
            raise  # a platform failure worth another try: the inbox works the delivery again
        except Exception as exc:
            log.error("%s failed: %s", type(cmd).__name__, type(exc).__name__, exc_info=exc)
            reply = Reply.of(SOMETHING_WENT_WRONG)
        await self.answer(reply, origin)

    async def answer(self, reply: Reply, origin: Origin) -> None:
        for message in reply.private:
            await self.tell(message, origin)
            if message.attachments:
                try:
                    await self.chat.upload(origin.workspace, origin.user_id, message.attachments)
                except ChatError as exc:
                    log.warning("export upload failed: %s", exc)

    async def tell(self, message: Message, origin: Origin) -> None:
        """One private message: via response_url, else ephemeral in the channel, else a DM."""
        if origin.respond is not None:
            rendered = await self.chat.render(origin.workspace, message)
            try:
                sent = await origin.respond(response_type="ephemeral", replace_original=False,
                                            **rendered)
                if getattr(sent, "status_code", 200) == 200:
                    return
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
                log.info("response_url failed: %s", type(exc).__name__)
        try:
            if origin.channel_id is None:
                raise ChatError("no channel")
            await self.chat.ephemeral(origin.workspace, origin.channel_id, origin.user_id, message)
        except ChatError:
            try:
                await self.chat.dm(origin.workspace, origin.user_id, message)
            except ChatError as exc:
                log.warning("private answer could not be delivered: %s", exc)

    async def settings(self, workspace: WorkspaceRef) -> Settings:
        """The workspace's settings (StorageError passes)."""
        return await self.service.settings(workspace)

"""The core's front door: one handler per command, chosen from an explicit table."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot import admin, asks, delivery, helpers, insights, memory, nudges, ports, stats, thanks
from bot.commands import (
    AnswerRequest,
    ChangeConfig,
    Command,
    CreateAsk,
    ExportData,
    ForgetMe,
    ListAsks,
    ListHelpers,
    MarkAnswer,
    NudgeNow,
    NudgeOff,
    NudgePreview,
    OfferHelp,
    OpenInsights,
    PostAsk,
    ReactionAdded,
    ReactionRemoved,
    RejectAnswer,
    ResolveAsk,
    ReuseAnswer,
    RunAnswerIndexing,
    RunAskMaintenance,
    RunDueNudges,
    SetEscalation,
    SetHelper,
    SetHours,
    SetNamed,
    SetNudge,
    ShowConfig,
    ShowHelp,
    ShowLeaderboard,
    ShowStats,
    ThankHelper,
    ThankMembers,
    WithdrawAsk,
)
from bot.deps import Deps, NoDirectory
from bot.domain import Actor, MessageRef, Platform, Settings, WorkspaceRef
from bot.emoji import is_thanks_emoji
from bot.errors import ChatError, StorageError
from bot.groupcommit import GroupCommit
from bot.messages import Message, Reply, error
from bot.outbox import Outbox, not_sending_now, sending_now
from bot.ports import Chat, Directory, Paced

log = logging.getLogger(__name__)

Handler = Callable[[Any, Deps], Awaitable[Reply]]

HANDLERS: dict[type, Handler] = {
    CreateAsk: asks.create_ask,
    PostAsk: asks.post_ask,
    OfferHelp: asks.offer_help,
    ResolveAsk: asks.resolve_ask,
    WithdrawAsk: asks.withdraw_ask,
    MarkAnswer: asks.mark_answer,
    ReuseAnswer: memory.reuse_answer,
    RejectAnswer: memory.reject_answer,
    RunAnswerIndexing: memory.index_answers,
    ListAsks: asks.list_asks,
    RunAskMaintenance: asks.run_ask_maintenance,
    ThankHelper: thanks.thank_helper,
    ThankMembers: thanks.thank_members,
    ShowStats: stats.show_stats,
    ShowLeaderboard: stats.show_leaderboard,
    SetNamed: stats.set_named,
    SetHelper: helpers.set_helper,
    SetHours: helpers.set_hours,
    ListHelpers: helpers.list_helpers,
    AnswerRequest: helpers.answer_request,
    SetEscalation: helpers.set_escalation,
    ShowConfig: admin.show_config,
    ChangeConfig: admin.change_config,
    ForgetMe: admin.forget_me,
    ExportData: admin.export_data,
    ShowHelp: admin.show_help,
    OpenInsights: insights.open_insights,
    SetNudge: nudges.set_nudge,
    NudgeOff: nudges.nudge_off,
    NudgePreview: nudges.nudge_preview,
    NudgeNow: nudges.nudge_now,
    RunDueNudges: delivery.run_due_nudges,
}

STORAGE_TROUBLE = error("leanon can't reach its database right now, so nothing was changed. "
                        "Please try again in a minute.")


class Leanon:
    """Runs commands against the core's dependencies.

    `handle` lets `StorageError` through so that each adapter can choose: explain it to a
    member (commands) or make the platform deliver the event again (reactions).
    What use cases say to others is written to the outbox (`bot.outbox`) with their change;
    `outbox` sends it (start it to have its workers take over what is left).
    """

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.outbox = Outbox(deps)
        delivery.register(self.outbox)
        # Reactions come in floods (a busy channel, a redelivery after an outage): those
        # arriving together are written together (see bot.groupcommit).
        self._reactions: GroupCommit[thanks.Reaction, Reply] = GroupCommit(self._record_reactions)
        # Each workspace's thanks emoji as last read (see `_may_thank`).
        self._thanks_emoji: dict[WorkspaceRef, tuple[str, ...]] = {}

    async def _record_reactions(self, cmds: list[thanks.Reaction]) -> list[Reply]:
        """One batch of the group commit (run by its writer, so the batch's own context)."""
        deps = self.deps
        if deps.answer_uow is not None:
            deps = replace(deps, uow=deps.answer_uow)
        with not_sending_now() as left:
            replies = await thanks.record_reactions(cmds, deps)
        if left.due_now:
            self.outbox.wake()
        return replies

    def reaction_coming(self) -> AbstractContextManager[None]:
        """Around an adapter's work on a reaction it is about to `handle`: a batch of
        reactions starting meanwhile waits for it (`GroupCommit.expecting`)."""
        return self._reactions.expecting()

    async def handle(self, cmd: Command, *, send: bool = True) -> Reply:
        """Run `cmd`. With `send`, what it wrote to the outbox is sent before returning
        (what can't be sent now is left to the outbox's workers); without, and always for
        reactions (a platform waits for their answer), it is left to the workers."""
        if isinstance(cmd, ReactionAdded):
            if not await self._may_thank(cmd):
                return Reply(ignored=True)  # spared the look-ups and the transaction
            cmd = await thanks.identified(cmd, self.deps)
            if not thanks.between_teammates(cmd):
                return Reply(ignored=True)
        if isinstance(cmd, ReactionAdded | ReactionRemoved):
            return await self._reactions.submit(cmd)
        if not send:
            with not_sending_now() as left:
                reply = await HANDLERS[type(cmd)](cmd, self.deps)
            if left.due_now:
                self.outbox.wake()
            return reply
        with sending_now(self.outbox) as (written, instead):
            reply = await HANDLERS[type(cmd)](cmd, self.deps)
            try:
                await self.outbox.send_now(written.committed())
            except StorageError as exc:
                log.warning("outbox: sending left to the workers: %s", exc)
        return Reply.of(*instead) if instead else reply

    async def settings(self, workspace: WorkspaceRef) -> Settings:
        """A workspace's settings, for adapters that shape their UI by them (StorageError passes)."""
        async with self.deps.uow() as uow:
            settings = await uow.workspaces.settings(workspace)
        self._thanks_emoji[workspace] = settings.thanks_emoji
        return settings

    async def asks_what_solved_it(self, workspace: WorkspaceRef, actor: Actor, ask_id: int) -> bool:
        """Whether pressing Resolved on this ask should open the form that asks what solved
        it: the ask is open and the member may resolve it (else the press goes to the core
        as it is, which explains). StorageError passes."""
        async with self.deps.uow() as uow:
            ask = await uow.asks.get(workspace, ask_id)
        return ask is not None and ask.is_open and await asks.may_resolve(self.deps, ask, actor)

    async def _may_thank(self, cmd: ReactionAdded) -> bool:
        """Whether a reaction may be a thanks: not on your own message, and one of the
        workspace's thanks emoji. A yes from the last settings read is enough (they are
        read again with the thanks); a no is checked against the database."""
        if cmd.actor.user_id == cmd.author.user_id:
            return False
        if is_thanks_emoji(cmd.emoji, self._thanks_emoji.get(cmd.workspace, ())):
            return True
        return is_thanks_emoji(cmd.emoji, (await self.settings(cmd.workspace)).thanks_emoji)


class ChatRouter:
    """One Chat and one Directory for the core, forwarding each call to the platform of the
    workspace. A platform registered without a directory knows nothing (`NoDirectory`)."""

    def __init__(self) -> None:
        self._chats: dict[Platform, Chat] = {}
        self._directories: dict[Platform, Directory] = {}

    def register(self, platform: Platform, chat: Chat, directory: Directory | None = None) -> None:
        self._chats[platform] = chat
        self._directories[platform] = directory or NoDirectory()

    def _for(self, workspace: WorkspaceRef) -> Chat:
        chat = self._chats.get(workspace.platform)
        if chat is None:
            raise ChatError(f"no chat adapter for {workspace.platform}")
        return chat

    def _directory(self, workspace: WorkspaceRef) -> Directory:
        directory = self._directories.get(workspace.platform)
        if directory is None:
            raise ChatError(f"no chat adapter for {workspace.platform}")
        return directory

    async def post(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                   nonce: str | None = None) -> MessageRef:
        return await self._for(workspace).post(workspace, channel_id, message, nonce)

    async def update(self, workspace: WorkspaceRef, ref: MessageRef, message: Message) -> None:
        await self._for(workspace).update(workspace, ref, message)

    async def reply(self, workspace: WorkspaceRef, parent: MessageRef, message: Message,
                    topic: str | None = None) -> MessageRef:
        return await self._for(workspace).reply(workspace, parent, message, topic)

    async def tell(
        self, workspace: WorkspaceRef, channel_id: str, user_id: str, message: Message
    ) -> None:
        await self._for(workspace).tell(workspace, channel_id, user_id, message)

    async def post_once(
        self, workspace: WorkspaceRef, channel_id: str, message: Message, nonce: str
    ) -> MessageRef:
        return await ports.post_once(self._for(workspace), workspace, channel_id, message, nonce)

    async def find_post(
        self, workspace: WorkspaceRef, channel_id: str, nonce: str, since: datetime
    ) -> MessageRef | None:
        return await ports.find_post(self._for(workspace), workspace, channel_id, nonce, since)

    def pace(self, workspace: WorkspaceRef, kind: str, channel_id: str | None) -> float:
        chat = self._chats.get(workspace.platform)
        return chat.pace(workspace, kind, channel_id) if isinstance(chat, Paced) else 0.0

    async def is_admin(self, workspace: WorkspaceRef, user_id: str) -> bool:
        return await self._directory(workspace).is_admin(workspace, user_id)

    async def is_bot(self, workspace: WorkspaceRef, user_id: str) -> bool:
        return await self._directory(workspace).is_bot(workspace, user_id)

    async def thread_of(self, workspace: WorkspaceRef, ref: MessageRef) -> MessageRef | None:
        return await self._directory(workspace).thread_of(workspace, ref)

    async def thread_authors(self, workspace: WorkspaceRef, parent: MessageRef) -> tuple[str, ...]:
        return await self._directory(workspace).thread_authors(workspace, parent)

    async def is_private(self, workspace: WorkspaceRef, channel_id: str) -> bool:
        return await self._directory(workspace).is_private(workspace, channel_id)

    async def time_zone(self, workspace: WorkspaceRef, user_id: str) -> str | None:
        return await self._directory(workspace).time_zone(workspace, user_id)

    async def message_url(self, workspace: WorkspaceRef, ref: MessageRef) -> str | None:
        return await self._directory(workspace).message_url(workspace, ref)

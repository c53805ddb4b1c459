"""The seams between the core and the world: chat platforms, storage and time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from bot.domain import (
    Ask,
    HelpOffer,
    LeaderboardEntry,
    MemberStats,
    MessageRef,
    NewAsk,
    NewThanks,
    Settings,
    Thanks,
    WorkspaceRef,
)
from bot.messages import Message


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class Chat(Protocol):
    """What the core asks of a chat platform. Adapters implement it per platform."""

    async def post(self, workspace: WorkspaceRef, channel_id: str, message: Message) -> MessageRef:
        """Post a public message in a channel."""
        ...

    async def update(self, workspace: WorkspaceRef, ref: MessageRef, message: Message) -> None:
        """Replace a message the bot posted."""
        ...

    async def reply(self, workspace: WorkspaceRef, parent: MessageRef, message: Message) -> MessageRef:
        """Post in the thread of `parent`, starting the thread if there is none."""
        ...

    async def whisper(
        self, workspace: WorkspaceRef, channel_id: str, user_id: str, message: Message
    ) -> None:
        """Tell one member privately (ephemeral or direct message, as the platform can)."""
        ...


class AskRepository(Protocol):
    async def add(self, new: NewAsk) -> Ask: ...

    async def get(self, workspace: WorkspaceRef, ask_id: int) -> Ask | None: ...

    async def set_message(self, ask_id: int, ref: MessageRef) -> None: ...

    async def find_by_message(self, workspace: WorkspaceRef, ref: MessageRef) -> Ask | None:
        """The ask whose card is `ref` (for a message in a card's thread, pass the card)."""
        ...

    async def count_by_asker_since(
        self, workspace: WorkspaceRef, asker_id: str, since: datetime
    ) -> int: ...

    async def add_offer(self, ask_id: int, helper_id: str, at: datetime) -> bool:
        """Record a help offer on an existing ask; False when this helper had already offered."""
        ...

    async def offers(self, ask_id: int) -> list[HelpOffer]: ...

    async def close(self, ask: Ask) -> bool:
        """Store `ask`'s new status and closing time if it is still open; False otherwise."""
        ...

    async def list_open(
        self, workspace: WorkspaceRef, channel_id: str | None = None, limit: int = 50
    ) -> list[Ask]:
        """Open asks, oldest first."""
        ...

    async def workspaces_with_open_asks(self) -> list[WorkspaceRef]: ...

    async def waiting_without_offer(
        self, workspace: WorkspaceRef, created_before: datetime
    ) -> list[Ask]:
        """Open asks with no offer and no follow-up yet, created before the given time."""
        ...

    async def claim_follow_up(self, ask_id: int, at: datetime) -> bool:
        """Mark the follow-up as sent; False when another worker already claimed it."""
        ...

    async def open_created_before(self, workspace: WorkspaceRef, before: datetime) -> list[Ask]: ...

    async def by_asker(self, workspace: WorkspaceRef, asker_id: str) -> list[Ask]: ...

    async def forget_asker(self, workspace: WorkspaceRef, asker_id: str, delete: bool) -> int:
        """Delete the member's asks, or keep them with no asker; remove their offers."""
        ...

    async def export(self, workspace: WorkspaceRef) -> tuple[list[Ask], list[HelpOffer]]: ...


class ThanksRepository(Protocol):
    async def add(self, new: NewThanks) -> Thanks | None:
        """Record a thanks; None when `dedupe_key` already names an active thanks.

        A retracted thanks with the same key becomes active again (same id, first `created_at`).
        """
        ...

    async def retract(self, workspace: WorkspaceRef, dedupe_key: str, at: datetime) -> Thanks | None:
        """Retract the active thanks with this key; None when there is none."""
        ...

    async def count_given_since(
        self, workspace: WorkspaceRef, giver_id: str, since: datetime
    ) -> int:
        """Active (not retracted) thanks the member gave since `since`."""
        ...

    async def forget_member(self, workspace: WorkspaceRef, user_id: str) -> int:
        """Delete every thanks the member gave or received; the number deleted."""
        ...

    async def export(self, workspace: WorkspaceRef) -> list[Thanks]: ...


class StatsRepository(Protocol):
    async def member_stats(
        self, workspace: WorkspaceRef, user_id: str, week_start: datetime
    ) -> MemberStats:
        """One member's numbers; active thanks only, `week_start` bounds the weekly count."""
        ...

    async def leaderboard(
        self, workspace: WorkspaceRef, since: datetime, exclude: set[str], limit: int = 10
    ) -> list[LeaderboardEntry]:
        """Members by active thanks received since `since`, most first, ties by user id."""
        ...


class WorkspaceRepository(Protocol):
    async def settings(self, workspace: WorkspaceRef) -> Settings:
        """The workspace's settings (defaults when it has none stored)."""
        ...

    async def save_settings(self, workspace: WorkspaceRef, settings: Settings) -> None: ...


class MemberRepository(Protocol):
    async def opted_out(self, workspace: WorkspaceRef) -> set[str]:
        """Members who asked not to be named in posts and leaderboards."""
        ...

    async def set_opted_out(self, workspace: WorkspaceRef, user_id: str, opted_out: bool) -> None: ...

    async def forget(self, workspace: WorkspaceRef, user_id: str) -> None: ...


class UnitOfWork(Protocol):
    """One transaction over the repositories. Leaving without `commit()` rolls back."""

    asks: AskRepository
    thanks: ThanksRepository
    stats: StatsRepository
    workspaces: WorkspaceRepository
    members: MemberRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]

"""What every use case needs: the unit of work, the chat platforms, what they can tell
about members and threads, and the clock."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cachetools import LRUCache

from bot.commands import Person
from bot.content import Content, load_content
from bot.domain import Actor, MessageRef, WorkspaceRef
from bot.ports import AnswerSearch, Chat, Clock, Directory, UnitOfWorkFactory

ASK_MAX_CHARS = 3000
TRIED_MAX_CHARS = 3000
REASON_MAX_CHARS = 1000
NOTE_MAX_CHARS = 1000  # what solved an ask: one or two lines
THANKED_AT_ONCE = 20  # members one /thanks may name (LEANON_THANKS_MAX_MEMBERS)
ASKS_PER_HOUR = 10


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class NoDirectory:
    """A `Directory` that knows nothing: no admins, no bots, no threads (tests, and a
    platform that says everything with its deliveries)."""

    async def is_admin(self, workspace: WorkspaceRef, user_id: str) -> bool:
        return False

    async def is_bot(self, workspace: WorkspaceRef, user_id: str) -> bool:
        return False

    async def thread_of(self, workspace: WorkspaceRef, ref: MessageRef) -> MessageRef | None:
        return None

    async def thread_authors(self, workspace: WorkspaceRef, parent: MessageRef) -> tuple[str, ...]:
        return ()

    async def is_private(self, workspace: WorkspaceRef, channel_id: str) -> bool:
        return True  # unknown: what was asked there stays there

    async def time_zone(self, workspace: WorkspaceRef, user_id: str) -> str | None:
        return None

    async def message_url(self, workspace: WorkspaceRef, ref: MessageRef) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class Deps:
    uow: UnitOfWorkFactory
    chat: Chat
    # Asked about members and threads where a delivery left them unsaid (flags that are None).
    directory: Directory = field(default_factory=NoDirectory)
    clock: Clock = field(default_factory=SystemClock)
    # The timezone that bounds a "day" for the daily thanks allowance, and of new schedules.
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    content: Content = field(default_factory=load_content)
    # A claimed weekly post older than this, with no message and nothing in the outbox,
    # is taken over (its outbox item was given up, or a crash came before the outbox).
    delivery_lease: timedelta = timedelta(minutes=2)
    # Consecutive permanent failures after which a channel's schedule is paused.
    max_failures: int = 3
    # Units of work a platform waits on for its answer (reactions are recorded before it):
    # they go before background work where the database serialises writers. None: `uow`.
    answer_uow: UnitOfWorkFactory | None = None
    # Units of work that only read (the insights page): where the database serialises
    # writers, these take no write lock and wait for none. None: `uow`.
    reading_uow: UnitOfWorkFactory | None = None
    # Thanks notes to one member within this window are sent as one note (0: each alone).
    note_window: timedelta = timedelta(seconds=60)
    # Members one /thanks may name: more is refused (each costs member look-ups and a note).
    thanks_max_members: int = THANKED_AT_ONCE
    # Where the insights page is served, as admins' browsers reach it (None: nowhere).
    insights_url: str | None = None
    # The answered-before search (None: leanon offers no remembered answers).
    search: AnswerSearch | None = None
    # The related asks of waiting asks, searched for once an hour rather than at each run
    # of the ladder (an ask nobody suits now is tried again every 5 minutes).
    related_asks: MutableMapping[tuple[WorkspaceRef, int], tuple[datetime, list[int]]] = field(
        default_factory=lambda: LRUCache(10_000), compare=False)

    @property
    def reading(self) -> UnitOfWorkFactory:
        """The factory of units of work that only read."""
        return self.reading_uow or self.uow

    async def is_admin(self, workspace: WorkspaceRef, actor: Actor) -> bool:
        """Whether the member who acted administers the workspace: as their platform said
        with the delivery, else as the directory answers (never inside a unit of work)."""
        if actor.is_admin is not None:
            return actor.is_admin
        return await self.directory.is_admin(workspace, actor.user_id)

    async def is_bot(self, workspace: WorkspaceRef, who: Actor | Person) -> bool:
        """Whether a member is a bot: as the delivery said, else as the directory answers."""
        if who.is_bot is not None:
            return who.is_bot
        return await self.directory.is_bot(workspace, who.user_id)

    def day_start(self, now: datetime) -> datetime:
        """The start of `now`'s local day, in UTC."""
        local = now.astimezone(self.timezone)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.astimezone(UTC)

    def week_ago(self, now: datetime) -> datetime:
        """The start of the last seven days (stats and weekly posts count from here)."""
        return now - timedelta(days=7)

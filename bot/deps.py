"""What every use case needs: the unit of work, the chat platforms and the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.content import Content, load_content
from bot.ports import Chat, Clock, UnitOfWorkFactory

ASK_MAX_CHARS = 3000
TRIED_MAX_CHARS = 3000
REASON_MAX_CHARS = 1000
THANKED_AT_ONCE = 20  # members one /thanks may name (LEANON_THANKS_MAX_MEMBERS)
ASKS_PER_HOUR = 10


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Deps:
    uow: UnitOfWorkFactory
    chat: Chat
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
    # Thanks notes to one member within this window are sent as one note (0: each alone).
    note_window: timedelta = timedelta(seconds=60)
    # Members one /thanks may name: more is refused (each costs member look-ups and a note).
    thanks_max_members: int = THANKED_AT_ONCE

    def day_start(self, now: datetime) -> datetime:
        """The start of `now`'s local day, in UTC."""
        local = now.astimezone(self.timezone)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.astimezone(UTC)

    def week_ago(self, now: datetime) -> datetime:
        """The start of the last seven days (stats and weekly posts count from here)."""
        return now - timedelta(days=7)

"""The APScheduler wiring: one leader runs the work; a missed post goes out at start."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from adapters.scheduler import Scheduler
from bot.commands import SetNudge
from tests.nudges.nudge_testing import MEMBER, WS, RecordingChat, SettableClock, leanon, utc


class SharedLock:
    """Two processes' view of one advisory lock."""

    holder: object | None = None

    def __init__(self, shared: SharedLock | None = None) -> None:
        self.shared = shared or self

    async def acquire(self) -> bool:
        if self.shared.holder in (None, self):
            self.shared.holder = self
            return True
        return False

    async def release(self) -> None:
        if self.shared.holder is self:
            self.shared.holder = None


async def test_only_the_leader_posts_and_another_takes_over(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    clock = SettableClock(utc(2026, 11, 25, 12, 0))
    chat = RecordingChat(clock)
    async with leanon(db, clock, chat) as one, leanon(db, clock, chat) as two:
        await one.service.handle(SetNudge(WS, MEMBER, "C1", 0, time(9, 30), "UTC"))
        await one.service.handle(SetNudge(WS, MEMBER, "C2", 1, time(9, 30), "UTC"))
        lock_one = SharedLock()
        lock_two = SharedLock(lock_one)
        first = Scheduler(one.service, lock_one)
        second = Scheduler(two.service, lock_two)
        clock.set(utc(2026, 11, 30, 14, 0))  # Monday afternoon: C1's post is due
        await first.start()
        await second.start()
        assert first.leader and not second.leader
        await one.service.outbox.settled()  # the tick wrote it; the outbox sends it
        assert [p.channel_id for p in chat.posts] == ["C1"]  # posted at start

        await second.run_nudges()  # not the leader: does nothing
        assert len(chat.posts) == 1

        await first.stop()  # the leader goes away
        clock.set(utc(2026, 12, 1, 9, 30))
        await second.elect()
        assert second.leader
        await two.service.outbox.settled()
        assert [p.channel_id for p in chat.posts] == ["C1", "C2"]
        await second.stop()
        assert lock_one.holder is None

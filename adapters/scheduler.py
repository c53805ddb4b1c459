"""Time as an adapter: APScheduler 3 turns clock ticks into core commands.

One `AsyncIOScheduler` in the bot's event loop runs three jobs:

- `elect` (every 10 s): try to become (or stay) the one process that runs scheduled work,
  through the `LeaderLock` port (a PostgreSQL advisory lock; a file lock on SQLite);
- `nudges` (every minute, at second 0): send the weekly posts that are due;
- `asks` (every 5 minutes): the waiting-ask follow-up and ask expiry;
- `answers` (every 30 s): the answered-before search's vectors of new answers.

The schedules themselves live in the database, not in APScheduler's job store: every
replica sees the same schedules, a change made through any replica counts at the next
tick, and a post missed while the bot was down is found at the first tick after start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.commands import Command, RunAnswerIndexing, RunAskMaintenance, RunDueNudges
from bot.errors import StorageError
from bot.ports import LeaderLock
from bot.service import Leanon
from bot.tasks import Tasks

log = logging.getLogger(__name__)


class Scheduler:
    """Runs the core's periodic work in this process while it holds the leader lock."""

    def __init__(self, service: Leanon, lock: LeaderLock, *, elect_seconds: float = 10,
                 asks_minutes: float = 5, answers_seconds: float = 30) -> None:
        self.service = service
        self.lock = lock
        self.leader = False
        self._elect_seconds = elect_seconds
        self._asks_minutes = asks_minutes
        self._answers_seconds = answers_seconds
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._running = Tasks("scheduled jobs")

    async def start(self) -> None:
        """Start the jobs; elect at once, so that a missed post goes out right after start."""
        jobs: list[tuple[str, Callable[[], Awaitable[None]], object]] = [
            ("elect", self.elect, IntervalTrigger(seconds=self._elect_seconds)),
            ("nudges", self.run_nudges, CronTrigger(second=0)),
            ("asks", self.run_asks, IntervalTrigger(minutes=self._asks_minutes)),
            ("answers", self.run_answers, IntervalTrigger(seconds=self._answers_seconds)),
        ]
        for job_id, func, trigger in jobs:
            self._aps.add_job(self._tracked(func), trigger, id=job_id, max_instances=1,
                              coalesce=True, misfire_grace_time=30)
        self._aps.start()
        await self.elect()

    def _tracked(self, func: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.keep(task)
            await func()
        return run

    async def elect(self) -> None:
        was = self.leader
        try:
            self.leader = await self.lock.acquire()
        except StorageError as exc:
            self.leader = False
            log.warning("scheduler election failed, the database is unreachable: %s", exc)
        if self.leader and not was:
            log.info("this process now runs the scheduled work (weekly posts, follow-ups)")
            await self.run_nudges()
            await self.run_asks()
        elif was and not self.leader:
            log.warning("this process no longer runs the scheduled work")

    async def _run(self, cmd: Command) -> None:
        if not self.leader:
            return
        try:
            # What the work writes to the outbox (weekly posts, follow-ups) is sent by the
            # outbox's workers, in parallel and paced, not one by one in this tick.
            await self.service.handle(cmd, send=False)
        except StorageError as exc:
            log.warning("%s skipped, the database is unreachable: %s", type(cmd).__name__, exc)
        except Exception:
            log.exception("%s failed", type(cmd).__name__)

    async def run_nudges(self) -> None:
        await self._run(RunDueNudges())

    async def run_asks(self) -> None:
        await self._run(RunAskMaintenance())

    async def run_answers(self) -> None:
        await self._run(RunAnswerIndexing())

    async def stop(self, grace: float = 8) -> None:
        """Stop the jobs, let running work finish (up to `grace` s), give up leadership."""
        if self._aps.running:
            self._aps.shutdown(wait=False)
        await self._running.drain(grace)
        if self.leader:
            self.leader = False
            try:
                await self.lock.release()
            except StorageError as exc:
                log.warning("could not release the scheduler lock: %s", exc)

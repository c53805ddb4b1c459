"""The inbox: what platforms delivered, stored before it is acknowledged, worked from the database.

An adapter stores each command, button press or form (`Inbox.put`, one short transaction
keyed by the platform's delivery id) before it answers the platform, and registers a
processor for its source. A fixed number of workers claim stored items (fairly between
workspaces, see `InboxRepository.claim`) and run their processors. A worker holds an item
under a lease that it renews while it works; when a process dies, its leases run out and
any process on the same database takes the items over. Processors must therefore be safe
to run again for the same item: the core keys what they create by the delivery id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.domain import InboxItem, NewInboxItem, WorkspaceRef
from bot.errors import ChatError, StorageError
from bot.groupcommit import GroupCommit
from bot.ports import Clock, UnitOfWorkFactory

log = logging.getLogger(__name__)

Processor = Callable[[InboxItem], Awaitable[None]]
GivenUp = Callable[[InboxItem], Awaitable[None]]


# How long stopping waits for the claim loop's round to end before cancelling it.
LOOP_STOP_SECONDS = 2.0
# The longest rest of the workers after an item while answers are pressing (`Inbox`).
REST_MAX = 1.0

GIVEN_UP = ("leanon could not finish that, even after trying again for a while. Nothing "
            "more will happen with it: please try again.")


def stored_item(item_id: int, new: NewInboxItem) -> InboxItem:
    """The item `new` became when stored with `item_id` by its owner (its first attempt)."""
    return InboxItem(id=item_id, source=new.source, key=new.key, workspace=new.workspace,
                     kind=new.kind, payload=new.payload, received_at=new.received_at,
                     attempts=1, group=new.group)


class Retry(Exception):
    """Raised by a processor: the item could not be done now; try it again later."""


class Later(Exception):
    """Raised by a processor: not yet (a rate limit, a note gathering others); the item
    is taken again from `at` on, and this was not an attempt."""

    def __init__(self, at: datetime) -> None:
        super().__init__(f"not before {at:%H:%M:%S}")
        self.at = at


class Pressure:
    """How many answers a platform waits for, per second (stores before an answer,
    reactions recorded before theirs): under a flood the workers step back, so that the
    answers keep their CPU and their turn at the database; the work waits in the database.

    The rate is the count of the last whole second, weighted by how much of it lies within
    the last second, plus the count of the current one (a sliding window of two buckets).
    """

    def __init__(self, high: float = 50.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.high = high
        self._clock = clock
        self._second = 0
        self._current = 0
        self._previous = 0

    def _roll(self, now: float) -> None:
        second = int(now)
        if second != self._second:
            self._previous = self._current if second == self._second + 1 else 0
            self._second, self._current = second, 0

    def note(self, n: int = 1) -> None:
        """`n` answers are on their way."""
        now = self._clock()
        self._roll(now)
        self._current += n

    def rate(self) -> float:
        now = self._clock()
        self._roll(now)
        return self._current + self._previous * (1 - (now - self._second))

    @property
    def high_now(self) -> bool:
        return self.rate() >= self.high


class Inbox:
    """Stores deliveries and works them with `workers` concurrent workers.

    `lease`: how long a claimed item stays with its worker without a renewal (renewed every
    third of it while the work runs). `poll`: how often to look for items that other
    processes left or that wait for a retry, when nothing new arrives here. `busy_at`: the
    backlog (items not done, in every process) from which `busy` is true, so that adapters
    tell members their request is queued.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, *, workers: int = 8,
                 lease: timedelta = timedelta(seconds=30), poll: float = 1.0,
                 max_attempts: int = 6, keep_done: timedelta = timedelta(hours=1),
                 busy_at: int = 500, urgent_uow: UnitOfWorkFactory | None = None,
                 name: str = "inbox", pressure: Pressure | None = None,
                 pressed_workers: int = 1, pressed_rest: float = 3.0) -> None:
        self.name = name
        # Answers waiting (shared by the inbox and the outbox): while high, at most
        # `pressed_workers` items are worked at a time, and after each the workers rest
        # `pressed_rest` times as long as it took (at most REST_MAX): the answers keep most
        # of the event loop, and the work still goes on, at a quarter of its pace.
        self.pressure = pressure or Pressure()
        self.pressed_workers = pressed_workers
        self.pressed_rest = pressed_rest
        self._rest_until = 0.0
        self.uow = uow
        # Storing a delivery holds up the platform's answer: it goes before the workers.
        self.urgent_uow = urgent_uow or uow
        self._clock = clock
        self.workers = workers
        self.lease = lease
        self.poll = poll
        self.max_attempts = max_attempts
        self.keep_done = keep_done
        self.busy_at = busy_at
        self.backlog = 0  # as last counted, plus what was stored here since
        self._counted_at = 0.0
        self.owner = uuid.uuid4().hex
        self._processors: dict[str, Processor] = {}
        self._given_up: dict[str, GivenUp] = {}
        self._running: dict[int, asyncio.Task[None]] = {}
        self._inline: set[int] = set()  # items worked by `run_now`, in their caller's task
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._stopping = False
        self._pruned_at = 0.0
        # Under load, deliveries stored together and items finished together share one
        # transaction each (see bot.groupcommit), so the answers wait less for the database.
        self._puts: GroupCommit[NewInboxItem, int | None] = GroupCommit(self._put_many)
        self._completions: GroupCommit[int, None] = GroupCommit(self._complete_many)

    def register(self, source: str, processor: Processor,
                 given_up: GivenUp | None = None) -> None:
        """Work the items of `source` (a platform adapter) with `processor`; `given_up` is
        told of an item that will not be tried again (to tell the member who asked)."""
        self._processors[source] = processor
        if given_up is not None:
            self._given_up[source] = given_up
        self._wake.set()

    async def put(self, source: str, key: str, workspace: WorkspaceRef, kind: str,
                  payload: str) -> bool:
        """Store a delivery; False when its key was stored before (a redelivery or a replay).

        StorageError passes: the delivery was not stored, so it must not be acknowledged.
        """
        item = NewInboxItem(source=source, key=key[:255], workspace=workspace, kind=kind[:64],
                            payload=payload, received_at=self._clock.now())
        self.pressure.note()
        stored = await self._puts.submit(item) is not None
        if stored:
            self.backlog += 1
            self._wake.set()
        return stored

    async def put_here(self, source: str, key: str, workspace: WorkspaceRef, kind: str,
                       payload: str) -> InboxItem | None:
        """`put`, stored as taken by this process for one lease: the caller works it at once
        (`run_now`); other workers take it only if this process dies first. None when its
        key was stored before."""
        now = self._clock.now()
        item = NewInboxItem(source=source, key=key[:255], workspace=workspace, kind=kind[:64],
                            payload=payload, received_at=now, owner=self.owner,
                            not_before=now + self.lease)
        self.pressure.note()
        item_id = await self._puts.submit(item)
        if item_id is None:
            return None
        self.backlog += 1
        return stored_item(item_id, item)

    @property
    def busy(self) -> bool:
        """Whether the backlog has reached `busy_at`: work will wait a while."""
        return self.backlog >= self.busy_at

    async def _put_many(self, items: list[NewInboxItem]) -> list[int | None]:
        async with self.urgent_uow() as uow:
            stored = await uow.inbox.put_many(items)
            await uow.commit()
        return stored

    async def _complete_many(self, item_ids: list[int]) -> list[None]:
        async with self.uow() as uow:
            await uow.inbox.complete(item_ids, self._clock.now())
            await uow.commit()
        return [None] * len(item_ids)

    async def waiting(self, due_within: float | None = None) -> int:
        """Items of the registered sources not done yet, in every process; with
        `due_within`, only those due within that many seconds (StorageError passes)."""
        due_by = None if due_within is None else self._clock.now() + timedelta(seconds=due_within)
        async with self.uow() as uow:
            return await uow.inbox.waiting(list(self._processors), due_by)

    @property
    def running(self) -> int:
        return len(self._running)

    async def start(self) -> None:
        if self._loop is None:
            self._stopping = False
            self._loop = asyncio.create_task(self._run(), name=f"leanon-{self.name}")
            self._renewer = asyncio.create_task(self._renew(), name=f"leanon-{self.name}-leases")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop claiming; give the work in progress `grace` seconds, then leave it to the
        lease (another process, or this one's next start, takes it over)."""
        self._stopping = True
        self._wake.set()
        if self._loop is not None:
            # Its round ends by itself: a statement cut off by a cancel would still be running
            # in the database driver's thread, which fails loudly if the event loop closes.
            await asyncio.wait({self._loop}, timeout=LOOP_STOP_SECONDS)
        for task in (self._loop, self._renewer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._loop = self._renewer = None
        running = list(self._running.values())
        if running:
            _, late = await asyncio.wait(running, timeout=max(grace, 0))
            for task in late:
                task.cancel()
            if late:
                log.warning("%d inbox items still running at shutdown: left to their lease",
                            len(late))
                await asyncio.wait(late)

    async def settled(self, within: float = 15.0, ahead: float = 5.0) -> None:
        """Wait until no item of the registered sources is running or due within `ahead`
        seconds: retries and paced messages are waited for, notes gathering for a minute
        are not (for tests)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                waiting = await self.waiting(due_within=ahead)
            except StorageError:
                waiting = 0  # nothing can be stored or claimed either
            if not self._running and waiting == 0:
                return
            self._wake.set()
            await asyncio.sleep(0.01)
        raise TimeoutError(f"inbox not settled within {within} s")

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            pressed = self.pressure.high_now
            if pressed and (rest := self._rest_until - time.monotonic()) > 0:
                await asyncio.sleep(min(rest, REST_MAX))
                continue
            workers = self.pressed_workers if pressed else self.workers
            free = workers - len(self._running)
            claimed = await self._claim(free) if free > 0 and self._processors else 0
            if claimed and claimed == free:
                continue  # maybe more are waiting; the loop waits for a free worker first
            await self._prune_now_and_then()
            await self._count_now_and_then()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)

    async def _claim(self, free: int) -> int:
        now = self._clock.now()
        try:
            async with self.uow() as uow:
                items = await uow.inbox.claim(list(self._processors), self.owner, now,
                                              now + self.lease, free)
                if items:
                    await uow.commit()
        except StorageError as exc:
            log.warning("%s: can't claim work: %s", self.name, exc)
            return 0
        for item in items:
            self._running[item.id] = asyncio.create_task(self._work(item),
                                                         name=f"leanon-inbox-{item.id}")
        return len(items)

    async def run_now(self, items: list[InboxItem]) -> None:
        """Work `items`, stored as taken by this process (`put_here`, `stored_item`), here
        and now, one after the other. What fails is left to the workers, as ever; so are
        items stored more than half a lease ago (another process may have them by now)."""
        now = self._clock.now()
        items = [item for item in items if now - item.received_at < self.lease / 2]
        self._inline.update(item.id for item in items)
        try:
            for item in items:
                await self._work(item)
        finally:
            self._inline.difference_update(item.id for item in items)

    def wake(self) -> None:
        """Look for waiting items now (something was stored by another unit of work)."""
        self._wake.set()

    async def drain(self) -> None:
        """Work every waiting item of the registered sources, here and now, until none is
        left that can be taken now (for tests and the console; the workers do this too)."""
        while True:
            now = self._clock.now()
            async with self.uow() as uow:
                items = await uow.inbox.claim(list(self._processors), self.owner, now,
                                              now + self.lease, self.workers)
                if items:
                    await uow.commit()
            if not items:
                return
            for item in items:
                self._inline.add(item.id)
                try:
                    await self._work(item)
                finally:
                    self._inline.discard(item.id)

    async def _work(self, item: InboxItem) -> None:
        started = time.monotonic()
        try:
            await self._processors[item.source](item)
        except Later as later:
            await self._postpone(item, later.at)
        except (Retry, StorageError, ChatError) as exc:
            await self._again(item, exc)
        except Exception as exc:
            log.error("%s: %s item failed: %s", self.name, item.kind, type(exc).__name__, exc_info=exc)
            await self._end(item, f"{type(exc).__name__}")
        else:
            await self._end(item, None)
        finally:
            self._running.pop(item.id, None)
            if item.id not in self._inline and self.pressure.high_now:
                now = time.monotonic()
                self._rest_until = max(self._rest_until,
                                       now + min((now - started) * self.pressed_rest, REST_MAX))
            self._wake.set()

    async def _again(self, item: InboxItem, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        if item.attempts >= self.max_attempts:
            log.warning("%s: %s item given up after %d attempts: %s", self.name, item.kind,
                        item.attempts, reason)
            await self._end(item, reason)
            return
        backoff = timedelta(seconds=min(2 ** item.attempts, 60))
        log.info("%s: %s item will be tried again in %s: %s", self.name, item.kind, backoff,
                 reason)
        try:
            async with self.uow() as uow:
                await uow.inbox.retry(item.id, self._clock.now() + backoff, reason)
                await uow.commit()
        except StorageError as failed:
            log.warning("%s: item %d left to its lease: %s", self.name, item.id, failed)

    async def _postpone(self, item: InboxItem, at: datetime) -> None:
        try:
            async with self.uow() as uow:
                await uow.inbox.postpone(item.id, at)
                await uow.commit()
        except StorageError as failed:
            log.warning("%s: item %d left to its lease: %s", self.name, item.id, failed)

    async def _end(self, item: InboxItem, error: str | None) -> None:
        try:
            if error is None:
                await self._completions.submit(item.id)
            else:
                async with self.uow() as uow:
                    await uow.inbox.give_up(item.id, self._clock.now(), error)
                    await uow.commit()
        except StorageError as exc:
            # The work is done but not marked: it runs again when the lease ends, which
            # the processors are made for (what they create is keyed by the delivery).
            log.warning("%s: item %d done but not marked: %s", self.name, item.id, exc)
            return
        if error is not None and (tell := self._given_up.get(item.source)) is not None:
            try:
                await tell(item)
            except (ChatError, StorageError) as exc:
                log.warning("%s: the member of a given-up item was not told: %s", self.name, exc)

    async def _renew(self) -> None:
        every = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            if not self._running and not self._inline:
                continue
            try:
                async with self.uow() as uow:
                    await uow.inbox.renew([*self._running, *self._inline], self.owner,
                                          self._clock.now() + self.lease)
                    await uow.commit()
            except StorageError as exc:
                log.warning("%s: leases not renewed: %s", self.name, exc)

    async def _count_now_and_then(self) -> None:
        if not self._processors or time.monotonic() - self._counted_at < 1:
            return
        self._counted_at = time.monotonic()
        try:
            self.backlog = await self.waiting()
        except StorageError as exc:
            log.info("%s: backlog not counted: %s", self.name, exc)

    async def _prune_now_and_then(self) -> None:
        if time.monotonic() - self._pruned_at < 60:
            return
        self._pruned_at = time.monotonic()
        try:
            async with self.uow() as uow:
                await uow.inbox.prune(self._clock.now() - self.keep_done)
                await uow.commit()
        except StorageError as exc:
            log.info("%s: old items not pruned: %s", self.name, exc)

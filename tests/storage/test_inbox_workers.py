"""bot.inbox.Inbox on a real database: each stored delivery is worked once, by a bounded
number of workers; failures are tried again or given up; a process that dies mid-work
leaves its items to another after the lease."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.domain import InboxItem, Platform, WorkspaceRef
from bot.errors import ChatError, StorageError
from bot.inbox import Inbox, Pressure, Retry
from storage import SqlStore
from tests.leanon_testing import MovableClock

WS = WorkspaceRef(Platform.SLACK, "T1")


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def inbox(store: SqlStore, clock: MovableClock) -> AsyncIterator[Inbox]:
    box = Inbox(store.unit_of_work, clock, workers=2, poll=0.05)
    await box.start()
    yield box
    await box.stop(grace=0)


async def put_many(box: Inbox, n: int, prefix: str = "d") -> None:
    for i in range(n):
        assert await box.put("slack", f"{prefix}{i}", WS, "ask", f'{{"n": {i}}}')


class Peak:
    """Work that takes `seconds`, counting each item done and the most worked at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.done: Counter[str] = Counter()
        self.running = self.peak = 0

    async def work(self, item: InboxItem) -> None:
        self.running += 1
        self.peak = max(self.peak, self.running)
        await asyncio.sleep(self.seconds)
        self.done[item.key] += 1
        self.running -= 1


async def test_each_delivery_is_worked_once_and_never_more_than_the_workers_at_a_time(
        store: SqlStore, clock: MovableClock) -> None:
    inbox = Inbox(store.unit_of_work, clock, workers=2, poll=0.05)
    peak = Peak(0.01)
    inbox.register("slack", peak.work)
    await put_many(inbox, 20)  # all waiting before the workers start: both are busy at once
    assert not await inbox.put("slack", "d3", WS, "ask", "{}")  # a replay: nothing new
    await inbox.start()
    try:
        await inbox.settled(10)
    finally:
        await inbox.stop(grace=0)
    assert peak.done == Counter({f"d{i}": 1 for i in range(20)})
    assert peak.peak == 2


@pytest.mark.parametrize("failure", [Retry("later"), ChatError("ratelimited"),
                                     StorageError("connection reset")])
async def test_a_passing_failure_is_tried_again_later(
        inbox: Inbox, clock: MovableClock, failure: Exception) -> None:
    attempts: list[int] = []

    async def work(item: InboxItem) -> None:
        attempts.append(item.attempts)
        if len(attempts) == 1:
            raise failure

    inbox.register("slack", work)
    await put_many(inbox, 1)
    for _ in range(100):
        if attempts:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    assert attempts == [1]  # not before its time
    clock.offset += timedelta(seconds=3)
    await inbox.settled(5)
    assert attempts == [1, 2]


async def test_a_bug_is_given_up_at_once_and_logged(
        inbox: Inbox, caplog: pytest.LogCaptureFixture) -> None:
    attempts: list[int] = []

    async def work(item: InboxItem) -> None:
        attempts.append(item.attempts)
        raise KeyError("oops")

    inbox.register("slack", work)
    await put_many(inbox, 1)
    await inbox.settled(5)
    assert attempts == [1]
    assert "item failed: KeyError" in caplog.text


async def test_an_item_that_keeps_failing_is_given_up_after_max_attempts(
        store: SqlStore, clock: MovableClock) -> None:
    box = Inbox(store.unit_of_work, clock, workers=1, poll=0.02, max_attempts=3)
    attempts: list[int] = []

    async def work(item: InboxItem) -> None:
        attempts.append(item.attempts)
        raise Retry("still not")

    box.register("slack", work)
    await box.start()
    try:
        await put_many(box, 1)
        for _ in range(6):
            await asyncio.sleep(0.1)
            clock.offset += timedelta(seconds=61)
        await box.settled(5)
    finally:
        await box.stop(grace=0)
    assert attempts == [1, 2, 3]


async def test_work_of_a_process_that_died_is_taken_over_after_the_lease(
        store: SqlStore, other_store: SqlStore, clock: MovableClock) -> None:
    dying = Inbox(store.unit_of_work, clock, workers=4, poll=0.02)
    started = asyncio.Event()

    async def hang(item: InboxItem) -> None:
        started.set()
        await asyncio.sleep(3600)

    dying.register("slack", hang)
    await dying.start()
    await put_many(dying, 1)
    await started.wait()
    await dying.stop(grace=0)  # as if killed: the item stays claimed

    done: list[int] = []

    async def work(item: InboxItem) -> None:
        done.append(item.attempts)

    survivor = Inbox(other_store.unit_of_work, clock, workers=4, poll=0.02)
    survivor.register("slack", work)
    await survivor.start()
    try:
        await asyncio.sleep(0.2)
        assert done == []  # still leased to the dead process
        clock.offset += survivor.lease
        await survivor.settled(5)
    finally:
        await survivor.stop(grace=0)
    assert done == [2]


async def test_the_backlog_makes_the_inbox_busy_until_it_is_worked_off(
        store: SqlStore, clock: MovableClock) -> None:
    box = Inbox(store.unit_of_work, clock, workers=1, poll=0.02, busy_at=3)
    go = asyncio.Event()

    async def work(item: InboxItem) -> None:
        await go.wait()

    box.register("slack", work)
    await box.start()
    try:
        await put_many(box, 2)
        assert not box.busy
        await put_many(box, 3, prefix="more")
        assert box.busy and box.backlog >= 3
        go.set()
        await box.settled(5)
        await asyncio.sleep(1.2)  # counted again at most once a second
        assert box.backlog == 0 and not box.busy
    finally:
        await box.stop(grace=0)


async def test_the_member_is_told_of_an_item_given_up_and_only_then(
        store: SqlStore, clock: MovableClock) -> None:
    box = Inbox(store.unit_of_work, clock, workers=2, poll=0.02, max_attempts=2)
    told: list[str] = []

    async def work(item: InboxItem) -> None:
        if item.key == "bug":
            raise KeyError("oops")
        if item.key == "flaky":
            raise Retry("not now")

    async def given_up(item: InboxItem) -> None:
        told.append(item.key)

    box.register("slack", work, given_up)
    await box.start()
    try:
        for key in ("fine", "bug", "flaky"):
            await box.put("slack", key, WS, "ask", "{}")
        for _ in range(5):
            await asyncio.sleep(0.1)
            clock.offset += timedelta(seconds=61)
        await box.settled(5)
    finally:
        await box.stop(grace=0)
    assert sorted(told) == ["bug", "flaky"]


async def test_under_a_flood_of_answers_the_workers_step_back_to_one(
        store: SqlStore, clock: MovableClock) -> None:
    now = [0.0]
    pressure = Pressure(high=10, clock=lambda: now[0])
    box = Inbox(store.unit_of_work, clock, workers=4, poll=0.05, pressure=pressure)
    flooded, calm = Peak(0.02), Peak(0.3)  # calm work overlaps: a round claims what is free
    box.register("slack", flooded.work)
    await put_many(box, 20)  # 20 answers within a second: a flood
    await box.start()
    try:
        await box.settled(10)
        assert flooded.peak == 1  # one at a time: the answers keep the CPU and the database

        now[0] += 5  # the flood is over
        box.register("slack", calm.work)
        await put_many(box, 8, prefix="calm")
        await box.settled(10)
        assert calm.peak == 4
    finally:
        await box.stop(grace=0)



def _gaps(spans: list[tuple[float, float]]) -> list[float]:
    """The time between each item's end and the next one's start."""
    return [after[0] - before[1] for before, after in itertools.pairwise(spans)]


async def test_under_a_flood_of_answers_the_workers_rest_between_items(
        store: SqlStore, clock: MovableClock) -> None:
    now = [0.0]
    pressure = Pressure(high=10, clock=lambda: now[0])
    box = Inbox(store.unit_of_work, clock, workers=4, poll=0.05, pressure=pressure,
                pressed_rest=2.0)
    spans: list[tuple[float, float]] = []

    async def work(item: InboxItem) -> None:
        began = time.monotonic()
        await asyncio.sleep(0.1)
        spans.append((began, time.monotonic()))

    box.register("slack", work)
    await put_many(box, 4)
    pressure.note(20)  # a flood: each item is followed by twice its time at rest
    await box.start()
    try:
        await box.settled(10)
        gaps = _gaps(spans)
        assert len(spans) == 4 and min(gaps) >= 0.18, gaps

        now[0] += 5  # the flood is over: no rest
        spans.clear()
        box.pressed_workers = box.workers = 1
        await put_many(box, 3, prefix="calm")
        now[0] += 5  # what was put is no flood either
        box.wake()
        await box.settled(10)
        gaps = _gaps(spans)
        assert len(spans) == 3 and max(gaps) < 0.1, gaps
    finally:
        await box.stop(grace=0)

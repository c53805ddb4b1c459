"""bot.groupcommit: what arrives while a batch is written goes in the next batch."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.groupcommit import GroupCommit


async def test_items_arriving_together_are_written_together_in_order() -> None:
    batches: list[list[int]] = []
    gate, writing = asyncio.Event(), asyncio.Event()

    async def write(items: list[int]) -> list[str]:
        batches.append(items)
        writing.set()
        await gate.wait()  # the first batch is "in the database" while more arrive
        return [f"done {i}" for i in items]

    commit: GroupCommit[int, str] = GroupCommit(write, max_batch=3)
    first = asyncio.create_task(commit.submit(0))
    await writing.wait()
    rest = [asyncio.create_task(commit.submit(i)) for i in range(1, 6)]
    await asyncio.sleep(0)
    gate.set()
    assert await first == "done 0"
    assert [await task for task in rest] == [f"done {i}" for i in range(1, 6)]
    assert batches == [[0], [1, 2, 3], [4, 5]]


async def test_a_failed_batch_fails_each_of_its_items_and_the_next_batch_goes_on() -> None:
    calls = 0

    async def write(items: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database went away")
        return items

    commit: GroupCommit[int, int] = GroupCommit(write)
    failing = [asyncio.create_task(commit.submit(i)) for i in range(3)]
    for task in failing:
        with pytest.raises(RuntimeError, match="went away"):
            await task
    assert await commit.submit(7) == 7


async def test_a_cancelled_waiter_does_not_stop_the_others() -> None:
    gate = asyncio.Event()

    async def write(items: list[int]) -> list[int]:
        await gate.wait()
        return items

    commit: GroupCommit[int, int] = GroupCommit(write)
    cancelled = asyncio.create_task(commit.submit(1))
    kept = asyncio.create_task(commit.submit(2))
    await asyncio.sleep(0)
    cancelled.cancel()
    gate.set()
    assert await kept == 2
    assert cancelled.cancelled()


async def test_a_batch_waits_for_the_items_announced_as_on_their_way() -> None:
    """Three requests are worked out on the loop; the first to submit does not start a
    batch of one while the other two, announced, are still on their way."""
    batches: list[list[int]] = []

    async def write(items: list[int]) -> list[int]:
        batches.append(items)
        return items

    commit: GroupCommit[int, int] = GroupCommit(write)

    async def request(i: int, work_turns: int) -> int:
        with commit.expecting():
            for _ in range(work_turns):  # parsing, checking: turns of the event loop
                await asyncio.sleep(0)
            return await asyncio.create_task(commit.submit(i))  # from a task it started

    assert await asyncio.gather(request(0, 0), request(1, 5), request(2, 10)) == [0, 1, 2]
    assert batches == [[0, 1, 2]]


async def test_an_announced_item_that_never_comes_holds_a_batch_back_briefly() -> None:
    batches: list[list[int]] = []

    async def write(items: list[int]) -> list[int]:
        batches.append(items)
        return items

    commit: GroupCommit[int, int] = GroupCommit(write, gather_seconds=0.05)
    ignored = asyncio.Event()

    async def ignored_request() -> None:
        with commit.expecting():
            await ignored.wait()  # worked out to nothing to write (an ignored reaction)

    async def slow_request() -> None:
        with commit.expecting():
            await asyncio.sleep(10)  # a look-up elsewhere that takes long

    async def timed_submit(i: int) -> float:
        started = asyncio.get_running_loop().time()
        await commit.submit(i)
        return asyncio.get_running_loop().time() - started

    waiting = asyncio.create_task(ignored_request())
    await asyncio.sleep(0)
    first = asyncio.create_task(timed_submit(0))
    await asyncio.sleep(0.01)
    ignored.set()  # it leaves without submitting: the batch goes at once
    assert await first < 0.04 and batches == [[0]]
    await waiting

    slow = asyncio.create_task(slow_request())
    await asyncio.sleep(0)
    assert 0.04 <= await timed_submit(1) < 1  # waited for it, but only gather_seconds
    slow.cancel()
    assert await timed_submit(2) < 0.04  # the cancelled one is no longer awaited


async def test_with_nothing_announced_a_lone_item_is_written_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def write(items: list[int]) -> list[int]:
        return items

    commit: GroupCommit[int, int] = GroupCommit(write)
    timers: list[float] = []
    loop = asyncio.get_running_loop()
    real_call_later = loop.call_later

    def counted(delay: float, *args: object) -> asyncio.TimerHandle:
        timers.append(delay)
        return real_call_later(delay, *args)

    monkeypatch.setattr(loop, "call_later", counted)
    assert [await commit.submit(i) for i in range(3)] == [0, 1, 2]
    assert timers == []


async def test_a_batch_waits_while_the_event_loop_is_busy_working_out_more() -> None:
    """Requests worked out on the loop (each turn of theirs costs CPU), not announced: the
    first to submit does not go alone while the loop is busy with the others; a loop
    busy for longer than gather_seconds holds the batch back no longer."""
    batches: list[list[int]] = []

    async def write(items: list[int]) -> list[int]:
        batches.append(items)
        return items

    async def request(commit: GroupCommit[int, int], i: int, turns: int) -> int:
        for _ in range(turns):
            busy_until = time.perf_counter() + 0.001
            while time.perf_counter() < busy_until:  # parsing, checking: the loop's CPU
                pass
            await asyncio.sleep(0)
        return await commit.submit(i)

    commit: GroupCommit[int, int] = GroupCommit(write, gather_seconds=0.5)
    assert await asyncio.gather(*(request(commit, i, i) for i in range(5))) == list(range(5))
    assert batches == [[0, 1, 2, 3, 4]]

    batches.clear()
    brief: GroupCommit[int, int] = GroupCommit(write, gather_seconds=0.005)
    assert await asyncio.gather(*(request(brief, i, 4 * i) for i in range(5))) == list(range(5))
    assert len(batches) > 1 and batches[0][0] == 0


async def test_a_batch_of_enough_items_waits_for_nothing() -> None:
    """A burst: once `enough` are waiting, the batch goes, though more are announced."""
    batches: list[list[int]] = []

    async def write(items: list[int]) -> list[int]:
        batches.append(items)
        return items

    commit: GroupCommit[int, int] = GroupCommit(write, gather_seconds=5, enough=3)
    never = asyncio.Event()

    async def announced_forever() -> None:
        with commit.expecting():
            await never.wait()

    waiting = asyncio.create_task(announced_forever())
    await asyncio.sleep(0)
    assert await asyncio.wait_for(asyncio.gather(*(commit.submit(i) for i in range(3))), 1) \
        == [0, 1, 2]
    assert batches == [[0, 1, 2]]
    waiting.cancel()

"""bot.groupcommit: what arrives while a batch is written goes in the next batch."""

from __future__ import annotations

import asyncio

import pytest

from bot.groupcommit import GroupCommit


async def test_items_arriving_together_are_written_together_in_order() -> None:
    batches: list[list[int]] = []
    gate = asyncio.Event()

    async def write(items: list[int]) -> list[str]:
        batches.append(items)
        await gate.wait()  # the first batch is "in the database" while more arrive
        return [f"done {i}" for i in items]

    commit: GroupCommit[int, str] = GroupCommit(write, max_batch=3)
    first = asyncio.create_task(commit.submit(0))
    await asyncio.sleep(0)
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

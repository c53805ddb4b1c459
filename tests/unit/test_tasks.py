"""bot.tasks.Tasks: kept until they end, and drained with a deadline at shutdown."""

from __future__ import annotations

import asyncio
import gc

from bot.tasks import Tasks


async def test_a_task_is_kept_until_it_ends_then_forgotten() -> None:
    tasks, done = Tasks("jobs"), asyncio.Event()

    async def work() -> None:
        await done.wait()

    tasks.spawn(work())
    gc.collect()  # asyncio alone would keep only a weak reference
    assert len(tasks) == 1
    done.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(tasks) == 0


async def test_drain_waits_for_the_tasks_up_to_its_grace_and_names_the_late() -> None:
    tasks = Tasks("jobs")
    quick = tasks.spawn(asyncio.sleep(0.01))
    slow = tasks.spawn(asyncio.sleep(5))
    late = await tasks.drain(0.2)
    assert quick.done() and late == {slow}
    slow.cancel()


async def test_drain_waits_for_tasks_started_while_it_waits() -> None:
    tasks = Tasks("jobs")
    second: list[asyncio.Task[None]] = []

    async def first() -> None:
        await asyncio.sleep(0.01)
        second.append(tasks.spawn(asyncio.sleep(0.02)))

    tasks.spawn(first())
    assert await tasks.drain(2) == set()
    assert second and second[0].done()

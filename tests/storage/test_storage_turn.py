"""storage.turn.Turn: one holder at a time, urgent waiters first, the rest never starved."""

from __future__ import annotations

import asyncio

import pytest

from storage.turn import URGENT_RUN, Turn


async def test_urgent_waiters_go_first_and_each_queue_is_first_come_first_served() -> None:
    turn = Turn()
    order: list[str] = []

    async def use(name: str, urgent: bool) -> None:
        await turn.acquire(urgent)
        order.append(name)
        await asyncio.sleep(0)
        turn.release()

    await turn.acquire()
    tasks = [asyncio.create_task(use(n, n.startswith("u"))) for n in ("b1", "u1", "b2", "u2")]
    await asyncio.sleep(0)
    turn.release()
    await asyncio.gather(*tasks)
    assert order == ["u1", "u2", "b1", "b2"]
    assert not turn.locked


async def test_background_work_gets_a_turn_between_runs_of_urgent_work() -> None:
    turn = Turn()
    order: list[str] = []

    async def use(name: str, urgent: bool) -> None:
        await turn.acquire(urgent)
        order.append(name)
        turn.release()

    await turn.acquire()
    urgent = [f"u{n}" for n in range(2 * URGENT_RUN + 2)]
    tasks = [asyncio.create_task(use("b1", False)), asyncio.create_task(use("b2", False)),
             *(asyncio.create_task(use(n, True)) for n in urgent)]
    await asyncio.sleep(0)
    turn.release()
    await asyncio.gather(*tasks)
    assert order[:URGENT_RUN + 1] == [*urgent[:URGENT_RUN], "b1"]
    assert order.index("b2") == 2 * URGENT_RUN + 1


async def test_a_cancelled_waiter_neither_holds_nor_loses_the_turn() -> None:
    turn = Turn()
    await turn.acquire()
    waiting = asyncio.create_task(turn.acquire(urgent=True))
    other = asyncio.create_task(turn.acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    turn.release()
    await asyncio.wait_for(other, 1)  # the turn went past the cancelled waiter
    turn.release()
    assert not turn.locked


async def test_a_waiter_cancelled_just_as_it_is_handed_the_turn_passes_it_on() -> None:
    turn = Turn()
    await turn.acquire()
    first = asyncio.create_task(turn.acquire())
    second = asyncio.create_task(turn.acquire())
    await asyncio.sleep(0)
    turn.release()  # hands the turn to `first`...
    first.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1)
    turn.release()
    assert not turn.locked

"""Waiting for an event's work up to Slack's deadline, with one timer for every wait."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from adapters.slack.deadline import Deadlines, StillWorking


async def test_a_wait_has_the_works_outcome_when_it_ends_in_time() -> None:
    deadlines = Deadlines()

    async def fails() -> None:
        raise LookupError("no such member")

    done = asyncio.ensure_future(asyncio.sleep(0.01))
    failed = asyncio.ensure_future(fails())
    await deadlines.wait(done, 1.0)
    with pytest.raises(LookupError):
        await deadlines.wait(failed, 1.0)


async def test_a_wait_is_given_up_at_its_deadline_and_the_work_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    deadlines = Deadlines()
    finished = asyncio.Event()

    async def slow() -> None:
        await asyncio.sleep(0.5)
        finished.set()
        raise ConnectionResetError

    work = asyncio.ensure_future(slow())
    started = asyncio.get_running_loop().time()
    with pytest.raises(StillWorking):
        await deadlines.wait(work, 0.1)
    assert asyncio.get_running_loop().time() - started >= 0.1
    assert not work.done()  # given up before the work ended, which goes on
    with caplog.at_level(logging.WARNING):
        await finished.wait()
        await asyncio.sleep(0.01)
    assert "failed after its answer" in caplog.text  # its failure comes later, and is told


async def test_waits_share_one_timer_which_stops_when_nothing_waits(
        monkeypatch: pytest.MonkeyPatch) -> None:
    deadlines = Deadlines()
    loop = asyncio.get_running_loop()
    timers: list[asyncio.TimerHandle] = []
    call_later = loop.call_later

    def counted(*args: Any) -> asyncio.TimerHandle:
        timers.append(call_later(*args))
        return timers[-1]

    works = [asyncio.ensure_future(asyncio.sleep(0.01 * n)) for n in range(50)]
    monkeypatch.setattr(loop, "call_later", counted)
    waits = [deadlines.wait(work, 1.0) for work in works]
    assert len(timers) == 1  # not one a wait
    await asyncio.gather(*waits)
    await asyncio.sleep(3 * Deadlines.TICK)
    assert len(deadlines) == 0
    assert all(t.when() < loop.time() for t in timers)  # none left ticking

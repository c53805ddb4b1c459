"""Waiting for events' work up to Slack's deadline, with one timer for all of them."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from functools import partial

log = logging.getLogger(__name__)


class StillWorking(Exception):
    """An event took longer than Slack waits; it goes on, and Slack is asked to redeliver."""


class Deadlines:
    """Waits on running work, each wait given up at its deadline while the work goes on.

    `asyncio.wait(timeout=…)` starts a timer for each wait and cancels it again; events
    arrive by the thousand a second, all with the same deadline, so one timer that ticks
    while anything waits serves them all. The waits are kept in arrival order, which is
    their deadlines' order while the deadline stays the same (a wait whose deadline is
    shorter than an earlier one's is given up when that one is, at the latest).
    """

    TICK = 0.05  # how late past its deadline a wait may be given up, at most

    def __init__(self) -> None:
        self._waiting: deque[tuple[float, asyncio.Future[None], asyncio.Future[None]]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._waiting)

    def wait(self, work: asyncio.Future[None], seconds: float) -> asyncio.Future[None]:
        """A future with `work`'s outcome, or failed with `StillWorking` if `work` is still
        running `seconds` from now (then a failure of `work` is logged when it comes)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        work.add_done_callback(partial(_outcome, waiter))
        self._waiting.append((loop.time() + seconds, waiter, work))
        if self._timer is None:
            self._timer = loop.call_later(self.TICK, self._sweep, loop)
        return waiter

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now, waiting = loop.time(), self._waiting
        while waiting and (waiting[0][1].done() or waiting[0][0] <= now):
            _, waiter, work = waiting.popleft()
            if not waiter.done():
                waiter.set_exception(StillWorking())
                work.add_done_callback(_log_late_failure)
        self._timer = loop.call_later(self.TICK, self._sweep, loop) if waiting else None


def _outcome(waiter: asyncio.Future[None], work: asyncio.Future[None]) -> None:
    if waiter.done():  # given up at its deadline, or its waiter is gone
        return
    if work.cancelled():
        waiter.cancel()
    elif (failure := work.exception()) is not None:
        waiter.set_exception(failure)
    else:
        waiter.set_result(None)


def _log_late_failure(work: asyncio.Future[None]) -> None:
    if not work.cancelled() and work.exception() is not None:
        log.warning("a slow event failed after its answer (Slack redelivers it): %s",
                    type(work.exception()).__name__)

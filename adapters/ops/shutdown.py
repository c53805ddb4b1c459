"""Shutting down against one deadline: every step gets what is left of it, none more."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

log = logging.getLogger(__name__)


class Deadline:
    """A point in time `seconds` from now on the running loop's clock."""

    def __init__(self, seconds: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._end = self._loop.time() + seconds

    def left(self) -> float:
        return max(0.0, self._end - self._loop.time())


async def within(deadline: Deadline, what: str, step: Awaitable[object]) -> None:
    """Await `step` until the deadline; past it, cancel the step and say so."""
    try:
        async with asyncio.timeout(deadline.left()):
            await step
    except TimeoutError:
        log.warning("shutdown: %s did not finish in time and was cut short", what)

"""A process's turn at SQLite's one write lock: first come, first served, answers first.

Units of work that a platform is waiting on for its answer (storing a delivery in the
inbox, recording reactions) are *urgent*: they go before the waiting background work
(inbox workers, the scheduler), so that the answers do not wait behind a backlog. So that
the background still moves under a steady stream of answers, one waiting background unit
gets its turn after every `URGENT_RUN` urgent ones in a row.
"""

from __future__ import annotations

import asyncio
from collections import deque

URGENT_RUN = 4


class Turn:
    """An asyncio lock with two FIFO queues: urgent waiters, then the others."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._other: deque[asyncio.Future[None]] = deque()
        self._urgent_run = 0

    @property
    def locked(self) -> bool:
        return self._held

    async def acquire(self, urgent: bool = False) -> None:
        if not self._held:
            self._held = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._other
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed the turn just as the wait was cancelled: pass it on
            else:
                queue.remove(waiter)
            raise

    def release(self) -> None:
        """Hand the turn to the next waiter (urgent first, see URGENT_RUN), or free it."""
        order = (self._urgent, self._other)
        if self._urgent_run >= URGENT_RUN and self._other:
            order = (self._other, self._urgent)
        for queue in order:
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    self._urgent_run = self._urgent_run + 1 if queue is self._urgent else 0
                    waiter.set_result(None)  # the turn passes on: still held
                    return
        self._held = False
        self._urgent_run = 0

"""Group commit: many small writes that arrive together share one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# The item the current task (and the tasks it starts) announced with `expecting()`.
_EXPECTED: ContextVar[_Expected | None] = ContextVar("leanon_expected_item", default=None)


class _Expected:
    """An item announced and not yet submitted (nor given up)."""

    __slots__ = ("commit", "open")

    def __init__(self, commit: GroupCommit[Any, Any]) -> None:
        self.commit = commit
        self.open = True

    def close(self) -> None:
        if self.open:
            self.open = False
            self.commit._arrived()


class GroupCommit(Generic[T, R]):
    """Items submitted while a batch is being written wait, and go together in the next.

    With one item at a time a batch is that item, so nothing waits for a timer; under load
    batches grow (up to `max_batch`) and one transaction's fixed cost is shared by all of
    them. `write` gets the items in arrival order and returns one result per item; if it
    raises, every item of that batch gets the exception.

    A batch has a fixed cost (some milliseconds of CPU on these machines), so a busy
    minute should make a few large batches rather than many small ones. A batch about to
    start waits, up to `gather_seconds` in all, for two things:

    - requests on their way to `submit` (a reaction's answer being worked out on the same
      event loop), announced with `expecting()`;
    - the event loop's other work, while each of its turns takes longer than
      `busy_turn_seconds`: a loop that busy is working out more requests, which will want
      to be in this batch. An idle loop's turn is a few microseconds: a lone item then
      waits for one turn, and with nothing announced no timer is set.

    A batch of `enough` items waits for nothing: its fixed cost is shared already, and
    when the database works elsewhere (PostgreSQL's own process) a burst is written
    sooner in batches written one after the other than in larger batches gathered while
    the database waits.
    """

    def __init__(self, write: Callable[[list[T]], Awaitable[list[R]]], max_batch: int = 200,
                 gather_seconds: float = 0.01, busy_turn_seconds: float = 0.0001,
                 enough: int = 32) -> None:
        self._write = write
        self._max_batch = max_batch
        self._enough = min(enough, max_batch)
        self._gather_seconds = gather_seconds
        self._busy_turn_seconds = busy_turn_seconds
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._coming = 0
        self._gathered: asyncio.Future[None] | None = None

    @contextmanager
    def expecting(self) -> Iterator[None]:
        """Announce an item the current task (or a task it starts) is about to submit; a
        batch starting meanwhile waits for it. Leaving without submitting is fine."""
        expected = _Expected(self)
        self._coming += 1
        token = _EXPECTED.set(expected)
        try:
            yield
        finally:
            _EXPECTED.reset(token)
            expected.close()

    async def submit(self, item: T) -> R:
        """Write `item` with whatever else is waiting; its result once committed."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        expected = _EXPECTED.get()
        if expected is not None and expected.commit is self:
            expected.close()
        elif len(self._waiting) >= self._enough:
            self._stop_gathering()
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        return await future

    def _arrived(self) -> None:
        self._coming -= 1
        if not self._coming or len(self._waiting) >= self._enough:
            self._stop_gathering()

    def _stop_gathering(self) -> None:
        if self._gathered is not None and not self._gathered.done():
            self._gathered.set_result(None)

    async def _gather(self, until: float) -> None:
        """Wait for the items announced, while the batch is short of `enough`, up to `until`."""
        loop = asyncio.get_running_loop()
        self._gathered = loop.create_future()
        timer = loop.call_at(until, self._stop_gathering)
        try:
            await self._gathered
        finally:
            timer.cancel()
            self._gathered = None

    async def _while_busy(self, until: float) -> None:
        """Let the event loop turn while its turns are long (other requests being worked
        out) and the batch is short of `enough`, up to `until`."""
        loop = asyncio.get_running_loop()
        while len(self._waiting) < self._enough:
            turn = loop.time()
            await asyncio.sleep(0)
            now = loop.time()
            if now - turn < self._busy_turn_seconds or now >= until:
                return

    async def _fill(self) -> None:
        until = asyncio.get_running_loop().time() + self._gather_seconds
        if self._coming and len(self._waiting) < self._enough:
            await self._gather(until)
        if self._busy_turn_seconds and len(self._waiting) < self._enough:
            await self._while_busy(until)

    async def _write_all(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._waiting:
                await self._fill()
                batch = self._waiting[:self._max_batch]
                del self._waiting[:self._max_batch]
                try:
                    results = await self._write([item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for (_, future), result in zip(batch, results, strict=True):
                        if not future.done():
                            future.set_result(result)
                batch = []
        finally:  # both are empty unless the writer was cancelled: then nobody waits forever
            self._writer = None
            for _, future in batch + self._waiting:
                future.cancel()
            self._waiting.clear()

"""Background tasks, kept until they end: asyncio holds only a weak reference to a task, so
one nobody keeps can vanish mid-way, and shutdown must know what is still running."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from typing import Any

log = logging.getLogger(__name__)


class Tasks:
    """A set of running tasks that forgets each one as it ends."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        """Run `work` in a task of its own, kept here until it ends."""
        return self.keep(asyncio.create_task(work, name=name))

    def keep(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        """Keep a task started elsewhere (the current one, say) until it ends."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(set(self._tasks))

    async def drain(self, grace: float) -> set[asyncio.Task[Any]]:
        """Wait up to `grace` seconds for every task, those started meanwhile too; the ones
        still running then (logged, left running)."""
        deadline = asyncio.get_running_loop().time() + max(grace, 0)
        while self._tasks:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            await asyncio.wait(set(self._tasks), timeout=left)
        if self._tasks:
            log.warning("%d %s still running at shutdown", len(self._tasks), self.name)
        return set(self._tasks)

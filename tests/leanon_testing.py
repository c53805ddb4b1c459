"""Test helpers shared by the adapter suites: a movable clock, a database that fails, and a
count of calls running at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from adapters.console.chat import ConsoleClock as MovableClock
from bot.app import Runtime
from bot.errors import StorageError

__all__ = ["AtOnce", "MovableClock", "database_down"]


class _UnreachableDatabase:
    """A unit of work whose database can't be reached."""

    async def __aenter__(self) -> Any:
        raise StorageError("connection refused (test)")

    async def __aexit__(self, *exc: object) -> None:
        return None


@contextmanager
def database_down(runtime: Runtime) -> Iterator[None]:
    """While inside, every unit of work fails the way an unreachable database does (the
    core's, and the inbox's: nothing can be stored before an answer either)."""
    service, inbox = runtime.service, runtime.inbox
    saved, saved_inbox = service.deps, (inbox.uow, inbox.urgent_uow)
    service.deps = replace(saved, uow=_UnreachableDatabase,  # type: ignore[arg-type]
                           answer_uow=_UnreachableDatabase)
    inbox.uow = inbox.urgent_uow = _UnreachableDatabase  # type: ignore[assignment]
    try:
        yield
    finally:
        service.deps = saved
        inbox.uow, inbox.urgent_uow = saved_inbox


class AtOnce:
    """An async callable in place of `call`: each call is held `hold` seconds first (long
    enough for a burst to queue up behind it), and `most` is the most that ran at once."""

    def __init__(self, call: Callable[..., Awaitable[Any]], hold: float = 0.05) -> None:
        self.call, self.hold = call, hold
        self.running = self.most = 0

    async def __call__(self, *args: Any) -> Any:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(self.hold)
            return await self.call(*args)
        finally:
            self.running -= 1

"""Readiness: may a load balancer send this process work right now?

Each dependency registers a check: an async function answering None when it is fine, or a
short reason when it is not (`database: unreachable`, `discord: connecting`). A check that
takes longer than `timeout` counts as failed; a process that is shutting down is not ready.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

Check = Callable[[], Awaitable[str | None]]

CHECK_TIMEOUT_SECONDS = 2.0
REASON_MAX_CHARS = 200


class Readiness:
    """Named readiness checks, run together on each `/readyz`."""

    def __init__(self, timeout: float = CHECK_TIMEOUT_SECONDS) -> None:
        self._checks: dict[str, Check] = {}
        self._timeout = timeout
        self.stopping = False

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    async def _run(self, check: Check) -> str | None:
        try:
            async with asyncio.timeout(self._timeout):
                return await check()
        except TimeoutError:
            return f"no answer within {self._timeout:g} s"
        except Exception as exc:  # a broken check means "not ready", never a 500
            return f"{type(exc).__name__}: {exc}"

    async def status(self) -> dict[str, str]:
        """Every check's result (`ok` or the reason), plus `process` while shutting down."""
        names = list(self._checks)
        results = await asyncio.gather(*(self._run(self._checks[n]) for n in names))
        status = {name: (result or "ok")[:REASON_MAX_CHARS]
                  for name, result in zip(names, results, strict=True)}
        if self.stopping:
            status["process"] = "shutting down"
        return status


def is_ready(status: dict[str, str]) -> bool:
    return all(value == "ok" for value in status.values())

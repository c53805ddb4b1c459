"""A real `leanon run` process for tests: environment, start, readiness, logs, signals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def leanon_env(database_url: str, **extra: str) -> dict[str, str]:
    """The test process's environment without leanon's settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DISCORD_", "LEANON_", "DATABASE_"))}
    return {**env, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT),
            "LEANON_HOST": "127.0.0.1", **extra}


class LeanonProcess:
    """`leanon run` (or another command) in a subprocess; its stderr lines collected live."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str,
                 command: list[str] | None = None) -> None:
        self.env = env
        self.cwd = cwd
        self.command = [*(command or [sys.executable, "-m", "bot.cli"]), *(args or ("run",))]
        self.port = int(env.get("LEANON_PORT", "3000"))
        self.lines: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> LeanonProcess:
        self.process = await asyncio.create_subprocess_exec(
            *self.command, env=self.env, cwd=self.cwd, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, limit=1 << 20)
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        async for raw in self.process.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def logs(self) -> list[dict[str, Any]]:
        """The JSON log lines so far (other lines are skipped)."""
        out = []
        for line in self.lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def stderr(self) -> str:
        return "\n".join(self.lines)

    async def wait_log(self, wanted: Callable[[dict[str, Any]], bool], within: float = 20) -> None:
        deadline = time.monotonic() + within
        while not any(wanted(entry) for entry in self.logs()):
            self._check_alive()
            if time.monotonic() > deadline:
                raise AssertionError(f"no such log line within {within} s:\n{self.stderr()}")
            await asyncio.sleep(0.05)

    def _check_alive(self) -> None:
        assert self.process is not None
        if self.process.returncode is not None:
            raise AssertionError(f"leanon exited with {self.process.returncode}:\n{self.stderr()}")

    async def readyz(self, session: aiohttp.ClientSession) -> tuple[int, dict[str, Any]]:
        async with session.get(f"{self.base}/readyz") as response:
            return response.status, await response.json()

    async def wait_ready(self, session: aiohttp.ClientSession, within: float = 30) -> None:
        """Until GET /readyz answers 200."""
        deadline = time.monotonic() + within
        while True:
            self._check_alive()
            try:
                if (await self.readyz(session))[0] == 200:
                    return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"leanon was not ready within {within} s:\n{self.stderr()}")
            await asyncio.sleep(0.1)

    async def wait(self, within: float = 15) -> int:
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), within)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)
        return code

    async def terminate(self, within: float = 15) -> int:
        """SIGTERM, then the exit code (fails if it takes longer than `within`)."""
        self.signal(signal.SIGTERM)
        return await self.wait(within)

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signum)

    async def stop(self) -> None:
        """Make sure the process is gone (test cleanup)."""
        if self.process is None:
            return
        if self.process.returncode is None:
            self.process.kill()
        await self.wait()

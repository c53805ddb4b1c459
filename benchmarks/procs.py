"""Starting and stopping the processes the benchmarks measure: the fakes, leanon, a bare bolt app."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import aiohttp
from common import ROOT, rss_mb

BENCH = Path(__file__).resolve().parent


class Proc:
    """A child process with its stderr in a file; stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, args: list[str], env: dict[str, str] | None, cwd: Path, log: Path) -> None:
        self.args, self.env, self.cwd, self.log = args, env, cwd, log
        self.process: asyncio.subprocess.Process | None = None
        self.started = 0.0

    async def start(self, stdout_pipe: bool = False) -> Proc:
        self.started = time.perf_counter()
        with self.log.open("wb") as err:
            self.process = await asyncio.create_subprocess_exec(
                *self.args, env=self.env, cwd=self.cwd, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE if stdout_pipe else asyncio.subprocess.DEVNULL, stderr=err)
        return self

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("not started")
        return self.process.pid

    def rss(self) -> float:
        return rss_mb(self.pid)

    async def wait_http(self, url: str, within: float = 30, ok: frozenset[int] = frozenset({200})) -> float:
        """Poll `url` until its status is in `ok`; the seconds since start()."""
        if self.process is None:
            raise RuntimeError("not started")
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.args} exited {self.process.returncode}; see {self.log}")
                try:
                    async with session.get(url) as response:
                        if response.status in ok:
                            return time.perf_counter() - self.started
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.02)
        raise RuntimeError(f"{url} not answering within {within} s; see {self.log}")

    async def stop(self, within: float = 20) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), within)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def fake_slack(workdir: Path, *options: str) -> tuple[Proc, str]:
    """The fake Slack API process and its base URL."""
    return await _fake("fake_slack_server.py", workdir / "fake_slack.log", *options)


async def fake_discord(workdir: Path, *options: str) -> tuple[Proc, str]:
    """The fake Discord process (REST, gateway, the load's controls) and its base URL."""
    return await _fake("fake_discord_server.py", workdir / "fake_discord.log", *options)


async def _fake(script: str, log: Path, *options: str) -> tuple[Proc, str]:
    proc = Proc([sys.executable, str(BENCH / script), *options], None, ROOT, log)
    await proc.start(stdout_pipe=True)
    if proc.process is None or proc.process.stdout is None:
        raise RuntimeError(f"{script} did not start")
    line = await asyncio.wait_for(proc.process.stdout.readline(), 30)
    if not line:
        raise RuntimeError(f"{script} exited; see {log}")
    return proc, line.decode().strip()


def leanon_command() -> list[str]:
    return [sys.executable, "-m", "bot.cli", "run"]


def bare_bolt_command(port: int, api_url: str) -> list[str]:
    return [sys.executable, str(BENCH / "bare_bolt_app.py"), "--port", str(port), "--api-url", api_url]

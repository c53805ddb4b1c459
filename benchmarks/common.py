"""Shared helpers for the benchmarks: percentiles, the machine, a throw-away PostgreSQL database."""

from __future__ import annotations

import os
import platform
import secrets
import socket
import statistics
import sys
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_DSN = os.environ.get("LEANON_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> str:
    """nproc, the CPU model and the Python version, in one line."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()} "
            f"({sys.implementation.name}), {platform.system()} {platform.release()}")


class ScratchPostgres:
    """A fresh database on the local server (created via the `test` database), dropped after."""

    def __init__(self, admin_dsn: str = PG_ADMIN_DSN) -> None:
        self.admin_dsn = admin_dsn
        self.name = f"leanon_bench_{secrets.token_hex(4)}"

    @property
    def url(self) -> str:
        base = self.admin_dsn.rsplit("/", 1)[0]
        return f"{base}/{self.name}"

    async def __aenter__(self) -> str:
        connection = await asyncpg.connect(self.admin_dsn, timeout=10)
        try:
            await connection.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await connection.close()
        return self.url

    async def __aexit__(self, *_: object) -> None:
        connection = await asyncpg.connect(self.admin_dsn, timeout=10)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await connection.close()


TESTS_SLACK = ROOT / "tests" / "slack"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # noqa: S105 - the tests' fake secret (tests/slack/slack_testing.py)
BOT_TOKEN = "xoxb-test-token"  # noqa: S105 - the fake Slack's token
TEAM, ALICE, BOB, CHANNEL = "T0001", "U2147483697", "U2147483698", "C2147483705"


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def leanon_env(database_url: str, port: int, api_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `leanon run` in Slack HTTP mode against a fake Slack."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DISCORD_", "LEANON_", "DATABASE_"))}
    return {**env, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url, "LEANON_HOST": "127.0.0.1",
            "LEANON_PORT": str(port), "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url, **extra}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

"""Shared helpers for the benchmarks: percentiles, the machine, a throw-away PostgreSQL database."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import secrets
import socket
import sqlite3
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

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


class ThanksWatch:
    """Watches the thanks table of a running leanon: which messages' thanks are visible, since when.

    Polls every `interval` seconds with its own read-only connection (SQLite: autocommit, so a
    poll never holds the write lock leanon's writers queue for; PostgreSQL: asyncpg), reading
    only rows newer than the newest seen minus `margin` ids (PostgreSQL may commit ids out of
    order). `seen` maps a thanks' message id to the `time.monotonic()` of the poll that first
    saw it: its completion time, to within one interval (CLOCK_MONOTONIC is system-wide, so
    other processes' `time.monotonic()` compare with it).
    """

    def __init__(self, database_url: str, platform: str, interval: float = 0.05,
                 margin: int = 2000) -> None:
        self.database_url, self.platform = database_url, platform
        self.interval, self.margin = interval, margin
        self.seen: dict[str, float] = {}
        self.rows = 0
        self._newest = 0
        self._sqlite: sqlite3.Connection | None = None
        self._pg: asyncpg.Connection | None = None

    async def __aenter__(self) -> ThanksWatch:
        if self.database_url.startswith("sqlite"):
            path = self.database_url.split(":///", 1)[1]
            self._sqlite = await asyncio.to_thread(
                sqlite3.connect, f"file:{path}?mode=ro", uri=True, isolation_level=None,
                check_same_thread=False)
        else:
            self._pg = await asyncpg.connect(self.database_url, timeout=10)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        if self._pg is not None:
            await self._pg.close()

    async def _query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        if self._sqlite is not None:
            connection = self._sqlite
            query = sql.replace("$1", "?").replace("$2", "?")  # the same order in both
            return await asyncio.to_thread(lambda: connection.execute(query, args).fetchall())
        if self._pg is None:
            raise RuntimeError("not connected")
        return [tuple(row) for row in await self._pg.fetch(sql, *args)]

    async def poll(self) -> int:
        """One look: how many thanks (of the platform) are visible now."""
        rows = await self._query("SELECT id, message_id FROM thanks WHERE platform = $1 AND id > $2",
                                 self.platform, max(0, self._newest - self.margin))
        now = time.monotonic()
        for row_id, message_id in rows:
            self._newest = max(self._newest, int(row_id))
            self.seen.setdefault(str(message_id), now)
        [(count,)] = await self._query("SELECT count(*) FROM thanks WHERE platform = $1", self.platform)
        self.rows = int(count)
        return self.rows

    async def until(self, count: int, within: float, stalled: float = 30.0) -> int:
        """Poll until `count` thanks are visible, `within` s pass, or nothing new for `stalled` s."""
        deadline = time.monotonic() + within
        last_change, last_rows = time.monotonic(), -1
        while time.monotonic() < deadline:
            rows = await self.poll()
            if rows >= count:
                return rows
            if rows != last_rows:
                last_change, last_rows = time.monotonic(), rows
            elif time.monotonic() - last_change > stalled:
                return rows
            await asyncio.sleep(self.interval)
        return self.rows

    def last_seen(self) -> float:
        return max(self.seen.values(), default=float("nan"))


def log_levels(path: Path) -> Counter[str]:
    """Warnings and errors in a leanon log (JSON lines): `level: event` → how many."""
    found: Counter[str] = Counter()
    if not path.exists():
        return found
    for raw in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(raw)
        except json.JSONDecodeError:
            if "Traceback" in raw:
                found["traceback"] += 1
            continue
        if isinstance(record, dict) and record.get("level") in {"warning", "error", "critical"}:
            found[f"{record['level']}: {str(record.get('event'))[:90]}"] += 1
    return found


def ms(values: list[float]) -> tuple[float, float, float]:
    """(median, p99, max) of durations in seconds, in milliseconds."""
    if not values:
        return float("nan"), float("nan"), float("nan")
    millis = [v * 1000 for v in values]
    return median(millis), percentile(millis, 99), max(millis)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    """The machine's 1/5/15-minute load averages (other work shares the cores)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f}"

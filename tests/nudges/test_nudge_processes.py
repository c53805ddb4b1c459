"""Two real processes on one PostgreSQL database: one post per schedule and period."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from datetime import time
from pathlib import Path

import pytest

from bot.commands import SetNudge
from tests.nudges.nudge_testing import MEMBER, WS, RecordingChat, SettableClock, leanon, utc

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = [f"C{i:02d}" for i in range(12)]
pytestmark = pytest.mark.postgres


async def seed(url: str) -> None:
    clock = SettableClock(utc(2026, 11, 25, 12, 0))
    async with leanon(url, clock, RecordingChat(clock)) as runtime:
        for channel in CHANNELS:
            reply = await runtime.service.handle(
                SetNudge(WS, MEMBER, channel, 0, time(9, 30), "UTC"))
            assert reply.ok


async def run_workers(url: str, out: Path, mode: str, count: int = 2) -> list[str]:
    now = utc(2026, 11, 30, 9, 30).isoformat()
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.nudges.nudge_worker", url, str(out), now, mode, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE) for _ in range(count)]
    outputs = []
    for proc in procs:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=120)
        assert proc.returncode == 0, stderr.decode()
        outputs.append(stdout.decode().strip())
    return outputs


@pytest.mark.parametrize("mode", ["ticks", "elect"])
async def test_two_processes_post_each_schedule_once(postgres_url: str, tmp_path: Path,
                                                     mode: str) -> None:
    await seed(postgres_url)
    out = tmp_path / "posts.txt"
    roles = await run_workers(postgres_url, out, mode)
    lines = out.read_text().splitlines()
    per_channel = Counter(line.split()[1] for line in lines)
    assert per_channel == Counter(dict.fromkeys(CHANNELS, 1))
    if mode == "elect":
        # The leader writes the posts; either process's outbox may send them.
        assert sorted(roles) == ["follower", "leader"]

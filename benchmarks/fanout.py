"""Benchmark 5 of issue 7: weekly posts to 1,000 channels against a slow, rate-limiting fake Slack.

Seeds 1,000 weekly schedules that fell due two minutes ago (SQLite, through the real
schedule repository), starts a fake Slack Web API that answers every call after 50 ms and
`429 ratelimited` (Retry-After: 1) to 1 % of `chat.postMessage` calls, then starts
`leanon run` in Slack HTTP mode: its scheduler elects itself at start and posts what is
due. Reports the time until every channel had its post and checks that each channel got
exactly one (counted by the fake, which keeps watching for a few seconds afterwards).

    PYTHONPATH=. python benchmarks/fanout.py [--channels 1000] [--latency 0.05] [--rate-limited 0.01]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from common import TEAM, free_port, leanon_env, machine
from procs import Proc, fake_slack, leanon_command

from bot.domain import Platform, WorkspaceRef
from storage import SqlStore, upgrade

DEADLINE = 180.0  # seconds to wait for the posts, whatever happens


async def seed(database_url: str, channels: int) -> None:
    now = datetime.now(UTC)
    fire = now - timedelta(minutes=2)
    if fire.date() != now.date() or (now.hour == 23 and now.minute >= 55):
        raise SystemExit("too close to midnight UTC for a schedule due today; run again in a few minutes")
    await upgrade(database_url)
    store = SqlStore.from_url(database_url)
    try:
        async with store.unit_of_work() as uow:
            for n in range(channels):
                await uow.schedules.upsert(WorkspaceRef(Platform.SLACK, TEAM), f"CFAN{n:05d}",
                                           now.weekday(), fire.time().replace(microsecond=0), "UTC",
                                           False, now - timedelta(hours=1))
            await uow.commit()
    finally:
        await store.close()


async def posts(session: aiohttp.ClientSession, api_base: str) -> tuple[Counter[str], int]:
    async with session.get(f"{api_base}/_bench/posts") as response:
        data = await response.json()
    mine = {channel: n for channel, n in data["posts"].items() if channel.startswith("CFAN")}
    return Counter(mine), int(data["rate_limited"])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rate-limited", type=float, default=0.01)
    args = parser.parse_args()
    channels = min(max(args.channels, 1), 10_000)
    print(f"# fan-out ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC) on {machine()}")
    print(f"  {channels} channels, fake Slack latency {args.latency * 1000:.0f} ms, "
          f"{args.rate_limited:.0%} of chat.postMessage → 429 Retry-After: 1")
    with tempfile.TemporaryDirectory(prefix="leanon-bench-fanout-") as tmp:
        workdir = Path(tmp)
        database_url = f"sqlite:///{workdir / 'leanon.db'}"
        await seed(database_url, channels)
        fake, api_base = await fake_slack(workdir, "--latency", str(args.latency),
                                          "--rate-limited", str(args.rate_limited), "--retry-after", "1")
        port = free_port()
        proc = Proc(leanon_command(), leanon_env(database_url, port, f"{api_base}/api/"), workdir,
                    workdir / "leanon.log")
        try:
            await proc.start()
            ready = await proc.wait_http(f"http://127.0.0.1:{port}/readyz")
            first = last = None
            async with aiohttp.ClientSession() as session:
                deadline = time.monotonic() + DEADLINE
                while time.monotonic() < deadline:
                    counts, _ = await posts(session, api_base)
                    now = time.perf_counter() - proc.started
                    if counts and first is None:
                        first = now
                    if len(counts) >= channels:
                        last = now
                        break
                    await asyncio.sleep(0.1)
                await asyncio.sleep(5)  # a second copy would come now
                counts, limited = await posts(session, api_base)
        finally:
            await proc.stop()
            await fake.stop()
    once = sum(1 for c in counts.values() if c == 1)
    twice = sum(1 for c in counts.values() if c > 1)
    missing = channels - len(counts)
    print("| channels | ready s | first post s | all posted s | posting took s | exactly once | "
          "more than once | none | 429s answered |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    took = f"{last - first:.1f}" if last is not None and first is not None else "n/a"
    print(f"| {channels} | {ready:.2f} | {first if first is None else f'{first:.2f}'} | "
          f"{'not within ' + str(DEADLINE) if last is None else f'{last:.2f}'} | {took} | {once} | "
          f"{twice} | {missing} | {limited} |")
    met = last is not None and first is not None and last - first < 30 and once == channels
    print(f"  target (all {channels} exactly once in < 30 s): {'met' if met else 'MISSED'}"
          "  (times are from process start)")


if __name__ == "__main__":
    asyncio.run(main())

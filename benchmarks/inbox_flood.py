"""A `/ask` flood, then reactions: what members get while and right after leanon is swamped.

Against a bare slack-bolt app (acks only) and `leanon run` (Slack HTTP mode, SQLite, then
PostgreSQL), in one run, each on its own:

1. flood: `/ask` from a new member each (so no hourly limit refuses them), spread over 500
   channels (leanon posts about one card a second per channel, as Slack takes them),
   `--concurrency` in flight for `--flood` seconds: acks per second, statuses, latency;
2. right after: `reaction_added` at `--rate` req/s for `--after` seconds (open loop):
   statuses and p99 — is every valid request still answered, and quickly?
3. leanon only: how long until every acknowledged `/ask` has its card (the inbox worked
   off), whether any acknowledged ask is missing or was carded twice, and RSS before the
   flood, right after it and once the backlog is done.

With `--remembered`, leanon's memory holds the evaluation set's answers before the flood
(`leanon answers import`, their vectors made by leanon's scheduled job), so every `/ask`
of the flood is searched for answers it repeats, as in a workspace with suggestions on.

    PYTHONPATH=. python benchmarks/inbox_flood.py [--flood 10] [--after 5] [--rate 200]
        [--concurrency 64] [--targets bare,sqlite,postgres] [--remembered]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from answers_http import import_faq, wait_for_vectors
from common import CHANNEL, ROOT, TEAM, free_port, leanon_env, machine
from procs import Proc, bare_bolt_command, leanon_command
from slack_http import REQUEST_TIMEOUT, Phase, Request, _send, _signed, open_loop, side_by_side
from sqlalchemy import text

from benchmarks.answers.sets import HERE, load
from storage import SqlStore

_serial = iter(range(1, 10**9))


FLOOD_CHANNELS = 500  # a busy workspace's channels: Slack posts about one message a second in each


def flood_ask(api_base: str) -> Request:
    n = next(_serial)
    channel = f"{CHANNEL}{n % FLOOD_CHANNELS:04d}"
    form = {"token": "x", "team_id": TEAM, "team_domain": "example", "channel_id": channel,
            "channel_name": "help-desk", "user_id": f"UFLOOD{n:07d}", "user_name": f"m{n}",
            "command": "/ask", "text": f"flood ask {n}: how do I rotate the staging password?",
            "api_app_id": "A123456", "is_enterprise_install": "false",
            "response_url": f"{api_base}/response/flood-{n}",
            "trigger_id": f"{n}.flood.{time.monotonic_ns()}"}
    body = urlencode(form)
    return Request("ask", body.encode(), _signed(body, "application/x-www-form-urlencoded"))


async def flood(session: aiohttp.ClientSession, url: str, api_base: str, concurrency: int,
                duration: float) -> Phase:
    phase = Phase(f"/ask flood ({concurrency} in flight, {duration:.0f} s)", None)
    deadline = time.perf_counter() + duration
    started = time.perf_counter()

    async def worker() -> None:
        while time.perf_counter() < deadline:
            await _send(session, url, flood_ask(api_base), time.perf_counter(), phase)

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))),
                           duration + REQUEST_TIMEOUT + 5)
    phase.elapsed = time.perf_counter() - started
    return phase


async def asks_done(database_url: str) -> tuple[int, int, int]:
    """(flood asks stored, those with their card recorded, inbox items not done yet)."""
    store = SqlStore.from_url(database_url)
    try:
        async with store.engine.connect() as connection:
            row = (await connection.execute(text(
                "SELECT count(*), count(message_id) FROM asks WHERE asker_id LIKE 'UFLOOD%'"))).one()
            waiting = (await connection.execute(text(
                "SELECT count(*) FROM inbox_items WHERE done_at IS NULL"))).scalar_one()
            return int(row[0]), int(row[1]), int(waiting)
    finally:
        await store.close()


async def run_load(base: str, api_base: str, args: argparse.Namespace) -> list[Phase]:
    url = f"{base}/slack/events"
    connector = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as session:
        first = await flood(session, url, api_base, args.concurrency, args.flood)
        after = await open_loop(session, url, api_base, args.rate, args.after)
        after.name = f"right after: {args.rate:.0f} req/s for {args.after:.0f} s (half reactions)"
    return [first, after]


async def bench_leanon(label: str, database_url: str, workdir: Path, api_base: str,
                       args: argparse.Namespace) -> tuple[list[Phase], dict[str, Any]]:
    port = free_port()
    env = leanon_env(database_url, port, f"{api_base}/api/", LEANON_LOG_LEVEL="WARNING")
    if args.remembered:
        await import_faq(HERE / "eval", database_url, workdir)
    proc = await Proc(leanon_command(), env, workdir, workdir / f"leanon-{label}.log").start()
    try:
        await proc.wait_http(f"http://127.0.0.1:{port}/readyz")
        if args.remembered:
            await wait_for_vectors(database_url, len(load(HERE / "eval").answers))
        await asyncio.sleep(1)
        rss_start = proc.rss()
        phases = await run_load(f"http://127.0.0.1:{port}", api_base, args)
        rss_flood = proc.rss()
        acked = phases[0].ok  # the flood's /ask, each from a new member
        started = time.perf_counter()
        stored = carded = waiting = 0
        while time.perf_counter() - started < args.drain_limit:
            stored, carded, waiting = await asks_done(database_url)
            if waiting == 0:
                break
            await asyncio.sleep(0.5)
        drained = time.perf_counter() - started
        rss_done = proc.rss()
    finally:
        await proc.stop()
    return phases, {"flood_asks_acked": acked, "asks_stored": stored, "asks_carded": carded,
                    "lost": acked - carded, "inbox_left": waiting,
                    "backlog_worked_off_s": drained, "rss_start_mb": rss_start,
                    "rss_after_flood_mb": rss_flood, "rss_backlog_done_mb": rss_done}


async def bench_bare(workdir: Path, api_base: str,
                     args: argparse.Namespace) -> tuple[list[Phase], dict[str, Any]]:
    port = free_port()
    proc = await Proc(bare_bolt_command(port, f"{api_base}/api/"), None, ROOT,
                      workdir / "bare.log").start()
    try:
        await proc.wait_http(f"http://127.0.0.1:{port}/readyz")
        rss_start = proc.rss()
        phases = await run_load(f"http://127.0.0.1:{port}", api_base, args)
        rss_after = proc.rss()
    finally:
        await proc.stop()
    return phases, {"rss_start_mb": rss_start, "rss_after_mb": rss_after}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=float, default=10.0)
    parser.add_argument("--after", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--drain-limit", type=float, default=300.0)
    parser.add_argument("--targets", default="bare,sqlite,postgres")
    parser.add_argument("--remembered", action="store_true",
                        help="the evaluation set's answers in leanon's memory before the flood")
    args = parser.parse_args()
    args.flood = min(max(args.flood, 1.0), 60.0)
    args.after = min(max(args.after, 1.0), 60.0)
    args.concurrency = min(max(args.concurrency, 1), 256)
    targets = [t.strip() for t in args.targets.split(",")]
    print(f"# /ask flood then reactions ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC) on {machine()}")
    rates = await side_by_side(targets, "leanon-bench-flood-", args, bench_bare, bench_leanon,
                               lambda phases: phases[0].ok / phases[0].elapsed)
    if "bare" in rates:
        for name in ("sqlite", "postgres"):
            if name in rates:
                print(f"  /ask acked per second, leanon ({name}) / bare: "
                      f"{rates[name] / rates['bare']:.0%}")


if __name__ == "__main__":
    asyncio.run(main())

"""Cards and notes through Slack's limits: each once, and no 429 caused by leanon's own pace.

A fake Slack that enforces a per-channel posting limit (a token bucket: `--channel-burst`
posts at once, then `--channel-limit` a second, as Slack takes about one message a second
per channel with short bursts) and answers a random 1 % of `chat.postMessage` with 429.
A real `leanon run` (Slack HTTP mode, SQLite) gets `--asks` `/ask` and as many `/thanks`
(each naming a teammate: a public note in the channel and a DM) spread over `--channels`
channels, sent as fast as it answers (32 in flight). Then: every card and note posted
exactly once, the 429s of the random share and of the channel limit (leanon paces its
posts: the second should be 0), and how long the posting took against the least the
channel limit allows.

Side by side in the same run: the same load against a fake that does not limit channels
(the time leanon needs when Slack would take everything at once).

    PYTHONPATH=. python benchmarks/outbox_pace.py [--asks 200] [--channels 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from common import TEAM, free_port, leanon_env, machine
from procs import Proc, fake_slack, leanon_command
from slack_http import _signed
from sqlalchemy import text

from storage import SqlStore


def command(api_base: str, name: str, text_: str, user: str, channel: str) -> tuple[bytes, dict[str, str]]:
    form = {"token": "x", "team_id": TEAM, "team_domain": "example", "channel_id": channel,
            "channel_name": "help", "user_id": user, "user_name": user.lower(), "command": name,
            "text": text_, "api_app_id": "A123456", "is_enterprise_install": "false",
            "response_url": f"{api_base}/response/{user}-{time.monotonic_ns()}",
            "trigger_id": f"{time.monotonic_ns()}.pace"}
    body = urlencode(form)
    return body.encode(), _signed(body, "application/x-www-form-urlencoded")


async def send_all(url: str, api_base: str, asks: int, channels: list[str]) -> Counter[int]:
    load = []
    for n in range(asks):
        channel = channels[n % len(channels)]
        load.append(command(api_base, "/ask", f"pace ask #{n}: how do I renew the staging cert?",
                            f"UBENCHA{n:05d}", channel))
        load.append(command(api_base, "/thanks", f"<@UBENCHH{n:05d}> for the review",
                            f"UBENCHT{n:05d}", channel))
    statuses: Counter[int] = Counter()
    slots = asyncio.Semaphore(32)
    async with aiohttp.ClientSession() as session:
        async def one(body: bytes, headers: dict[str, str]) -> None:
            async with slots, session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] += 1
        await asyncio.gather(*(one(*request) for request in load))
    return statuses


async def outbox_left(database_url: str) -> tuple[int, int]:
    """(asks with their card recorded, items not done: inbox and outbox)."""
    store = SqlStore.from_url(database_url)
    try:
        async with store.engine.connect() as db:
            carded = (await db.execute(text(
                "SELECT count(message_id) FROM asks"))).scalar_one()
            waiting = (await db.execute(text(
                "SELECT count(*) FROM inbox_items WHERE done_at IS NULL"))).scalar_one()
            return int(carded), int(waiting)
    finally:
        await store.close()


async def posted(api_base: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{api_base}/_bench/posts") as r:
        return dict(await r.json())


async def run(label: str, limit: bool, args: argparse.Namespace) -> dict[str, Any]:
    channels = [f"CPACE{n:04d}" for n in range(args.channels)]
    with tempfile.TemporaryDirectory(prefix="leanon-bench-pace-") as tmp:
        workdir = Path(tmp)
        options = ["--rate-limited", str(args.random_429), "--latency", "0.02"]
        if limit:
            options += ["--channel-limit", "1", "--channel-burst", str(args.channel_burst)]
        fake, api_base = await fake_slack(workdir, *options)
        database_url = f"sqlite:///{workdir / 'leanon.db'}"
        port = free_port()
        env = leanon_env(database_url, port, f"{api_base}/api/", LEANON_LOG_LEVEL="WARNING")
        proc = await Proc(leanon_command(), env, workdir, workdir / "leanon.log").start()
        try:
            await proc.wait_http(f"http://127.0.0.1:{port}/readyz")
            started = time.perf_counter()
            statuses = await send_all(f"http://127.0.0.1:{port}/slack/events", api_base,
                                      args.asks, channels)
            answered = time.perf_counter() - started
            carded = waiting = -1
            while time.perf_counter() - started < args.limit:
                carded, waiting = await outbox_left(database_url)
                if waiting == 0:
                    break
                await asyncio.sleep(0.25)
            done = time.perf_counter() - started
            counts = await posted(api_base)
            log = (workdir / "leanon.log").read_text()
        finally:
            await proc.stop()
            await fake.stop()
    per_channel = [counts["posts"].get(c, 0) for c in channels]
    dms = sum(n for c, n in counts["posts"].items() if c.startswith("D"))
    least = max((max(0, n - args.channel_burst) for n in per_channel), default=0)
    return {"label": label, "statuses": dict(statuses), "answered_s": answered,
            "done_s": done, "cards_recorded": carded, "left": waiting,
            "channel_posts": sum(per_channel), "expected_channel_posts": 2 * args.asks,
            "dms": dms, "expected_dms": args.asks, "random_429": counts["rate_limited"],
            "over_pace_429": counts["over_pace"], "least_s": least if limit else 0,
            "warnings": log.count('"level": "warning"'),
            "a warning": next((ln[:160] for ln in log.splitlines() if '"warning"' in ln), "")}


def show(result: dict[str, Any]) -> None:
    print(f"\n## {result['label']}")
    for key, value in result.items():
        if key != "label":
            shown = f"{value:.1f}" if isinstance(value, float) else json.dumps(value)
            print(f"  {key:24} {shown}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asks", type=int, default=200)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--channel-burst", type=int, default=4)
    parser.add_argument("--random-429", type=float, default=0.01)
    parser.add_argument("--limit", type=float, default=300.0, help="seconds to wait for the posts")
    args = parser.parse_args()
    print(f"# cards and notes through Slack's limits ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC) "
          f"on {machine()}: {args.asks} /ask + {args.asks} /thanks over {args.channels} channels")
    for label, limit in (("fake Slack without a channel limit", False),
                         (f"fake Slack with 1 post/s per channel (burst {args.channel_burst})", True)):
        show(await run(label, limit, args))


if __name__ == "__main__":
    asyncio.run(main())

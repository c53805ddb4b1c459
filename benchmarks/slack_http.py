"""Benchmarks 1 and 6 of issue 7: Slack HTTP ack latency and throughput, and leanon's footprint.

Starts a fake Slack Web API (benchmarks/fake_slack_server.py), then, one after the other:
a bare slack-bolt AsyncApp that only acks (the ceiling), and `leanon run` in Slack HTTP mode
on SQLite and on a fresh PostgreSQL database. Each gets signed requests on 127.0.0.1, half
`reaction_added` events (a new message each: a new thanks) and half `/ask` commands
(`--mix reactions` or `--mix asks`: one kind only):

- open loop at fixed offered rates (`--rates`, each for `--duration` s): latency is measured
  from the moment a request was due, so a server that falls behind is charged for it;
- closed loop at saturation (`--concurrency` requests in flight for `--duration` s): the
  completed 2xx per second is the max sustained rate.

For leanon it also reports the start-up time to /readyz = 200, RSS after start and after the
load, and how many thanks were recorded (reactions acked with 200 must each be one thanks).

    PYTHONPATH=. python benchmarks/slack_http.py [--rates 50,100,200] [--duration 10]
        [--concurrency 32] [--targets bare,sqlite,postgres] [--mix half|reactions|asks]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from common import (
    ALICE,
    BOB,
    CHANNEL,
    ROOT,
    SIGNING_SECRET,
    TEAM,
    ScratchPostgres,
    cpu_seconds,
    free_port,
    leanon_env,
    machine,
    median,
    percentile,
)
from procs import Proc, bare_bolt_command, fake_slack, leanon_command
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text

from storage import SqlStore

MAX_REQUESTS = 50_000  # per phase, whatever the options say
REQUEST_TIMEOUT = 10.0
_verifier = SignatureVerifier(SIGNING_SECRET)
_serial = iter(range(1, 10**9))


@dataclass
class Request:
    kind: str
    body: bytes
    headers: dict[str, str]


def _signed(body: str, content_type: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": str(_verifier.generate_signature(timestamp=stamp, body=body))}


def reaction(api_base: str) -> Request:
    n = next(_serial)
    ts = f"{1700000000 + n}.{n % 1_000_000:06d}"
    event = {"token": "x", "team_id": TEAM, "api_app_id": "A123456", "type": "event_callback",
             "event_id": f"EvBENCH{n:09d}", "event_time": int(time.time()),
             "authorizations": [{"enterprise_id": None, "team_id": TEAM, "user_id": "UBOT0001",
                                 "is_bot": True, "is_enterprise_install": False}],
             "event": {"type": "reaction_added", "user": ALICE, "reaction": "pray", "item_user": BOB,
                       "item": {"type": "message", "channel": CHANNEL, "ts": ts}, "event_ts": ts}}
    body = json.dumps(event)
    return Request("reaction", body.encode(), _signed(body, "application/json"))


def ask(api_base: str) -> Request:
    n = next(_serial)
    form = {"token": "x", "team_id": TEAM, "team_domain": "example", "channel_id": CHANNEL,
            "channel_name": "help-desk", "user_id": ALICE, "user_name": "alice", "command": "/ask",
            "text": f"how do I rotate the staging password, take {n}?", "api_app_id": "A123456",
            "is_enterprise_install": "false", "response_url": f"{api_base}/response/bench-{n}",
            "trigger_id": f"{n}.738474920.8088930838d88f008e0"}
    body = urlencode(form)
    return Request("ask", body.encode(), _signed(body, "application/x-www-form-urlencoded"))


MIXES = {"half": (reaction, ask), "reactions": (reaction,), "asks": (ask,)}
SAID = {"half": "half reaction_added, half /ask", "reactions": "reaction_added only",
        "asks": "/ask only"}
mix = MIXES["half"]  # `--mix`


def requests(count: int, api_base: str) -> list[Request]:
    """The mix's kinds in turn (half reactions, half /ask by default); signed now (valid
    for five minutes)."""
    count = min(count, MAX_REQUESTS)
    return [mix[i % len(mix)](api_base) for i in range(count)]


@dataclass
class Phase:
    name: str
    offered: float | None  # req/s, None for the closed loop
    elapsed: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"reaction": [], "ask": []})
    statuses: Counter[str] = field(default_factory=Counter)
    reactions_ok: int = 0
    reactions_sent: int = 0
    cpu_seconds: float = float("nan")  # the server process's, all threads, through the phase

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if status.startswith("2"))

    def row(self) -> str:
        every = self.latencies["reaction"] + self.latencies["ask"]
        ms = [v * 1000 for v in every]
        rate = self.ok / self.elapsed if self.elapsed else 0.0
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        per_kind = " / ".join(f"{median([v * 1000 for v in self.latencies[k]]):.1f}"
                              for k in ("reaction", "ask"))
        cpu_ms = self.cpu_seconds * 1000 / self.ok if self.ok else float("nan")
        return (f"| {self.name} | {rate:.0f} | {median(ms):.1f} | {percentile(ms, 99):.1f} | "
                f"{per_kind} | {cpu_ms:.2f} | {statuses} |")


async def _send(session: aiohttp.ClientSession, url: str, request: Request, due: float,
                phase: Phase) -> None:
    phase.reactions_sent += request.kind == "reaction"
    try:
        async with session.post(url, data=request.body, headers=request.headers) as response:
            await response.read()
            status = str(response.status)
    except (aiohttp.ClientError, TimeoutError) as error:
        status = type(error).__name__
    phase.statuses[status] += 1
    if status.startswith("2"):
        phase.latencies[request.kind].append(time.perf_counter() - due)
        if request.kind == "reaction":
            phase.reactions_ok += 1


async def open_loop(session: aiohttp.ClientSession, url: str, api_base: str, rate: float,
                    duration: float) -> Phase:
    phase = Phase(f"{rate:.0f} req/s offered", rate)
    batch = requests(int(rate * duration), api_base)
    started = time.perf_counter()
    tasks = []
    for i, request in enumerate(batch):
        due = started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_send(session, url, request, due, phase)))
    _, pending = await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT + 5)
    for task in pending:  # bounded: nothing outlives its phase
        task.cancel()
    if pending:
        phase.statuses["unfinished"] += len(pending)
    phase.elapsed = max(duration, time.perf_counter() - started)
    return phase


async def closed_loop(session: aiohttp.ClientSession, url: str, api_base: str, concurrency: int,
                      duration: float) -> Phase:
    phase = Phase(f"saturation ({concurrency} in flight)", None)
    batch = iter(requests(MAX_REQUESTS, api_base))
    started = time.perf_counter()
    deadline = started + duration

    async def worker() -> None:
        for request in batch:
            if time.perf_counter() >= deadline:
                return
            await _send(session, url, request, time.perf_counter(), phase)

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))),
                           duration + REQUEST_TIMEOUT + 5)
    phase.elapsed = time.perf_counter() - started
    return phase


async def load(base: str, api_base: str, rates: list[float], duration: float,
               concurrency: int, pid: int) -> list[Phase]:
    """The phases against the server at `base` (process `pid`, whose CPU time each phase
    records, the work left after its acks included)."""
    url = f"{base}/slack/events"
    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    phases = []

    async def measured(run: Awaitable[Phase], settle: float) -> Phase:
        before = cpu_seconds(pid)
        phase = await run
        await asyncio.sleep(settle)  # let the work after the acks finish
        phase.cpu_seconds = cpu_seconds(pid) - before
        return phase

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        phases.append(await open_loop(session, url, api_base, 20, 2))  # warm-up, not in the table
        phases[0].name = "warm-up"
        for rate in rates:
            phases.append(await measured(open_loop(session, url, api_base, rate, duration), 2))
        phases.append(await measured(closed_loop(session, url, api_base, concurrency, duration), 3))
    return phases


async def count_thanks(database_url: str) -> int:
    store = SqlStore.from_url(database_url)
    try:
        async with store.engine.connect() as connection:
            return int((await connection.execute(text("SELECT count(*) FROM thanks"))).scalar_one())
    finally:
        await store.close()


async def bench_leanon(label: str, database_url: str, workdir: Path, api_base: str,
                       args: argparse.Namespace) -> tuple[list[Phase], dict[str, Any]]:
    port = free_port()
    env = leanon_env(database_url, port, f"{api_base}/api/", LEANON_LOG_LEVEL=args.log_level)
    proc = await Proc(leanon_command(), env, workdir, workdir / f"leanon-{label}.log").start()
    try:
        startup = await proc.wait_http(f"http://127.0.0.1:{port}/readyz")
        await asyncio.sleep(1)
        rss_start = proc.rss()
        phases = await load(f"http://127.0.0.1:{port}", api_base, args.rates, args.duration,
                            args.concurrency, proc.pid)
        rss_after = proc.rss()
    finally:
        await proc.stop()
    recorded = await count_thanks(database_url)
    sent, acked = sum(p.reactions_sent for p in phases), sum(p.reactions_ok for p in phases)
    return phases, {"startup_s": startup, "rss_start_mb": rss_start, "rss_after_mb": rss_after,
                    "reactions_sent": sent, "reactions_acked_2xx": acked, "thanks_recorded": recorded,
                    "thanks_lost": sent - recorded}


async def bench_bare(workdir: Path, api_base: str,
                     args: argparse.Namespace) -> tuple[list[Phase], dict[str, Any]]:
    port = free_port()
    proc = await Proc(bare_bolt_command(port, f"{api_base}/api/"), None, ROOT, workdir / "bare.log").start()
    try:
        startup = await proc.wait_http(f"http://127.0.0.1:{port}/readyz")
        rss_start = proc.rss()
        phases = await load(f"http://127.0.0.1:{port}", api_base, args.rates, args.duration,
                            args.concurrency, proc.pid)
        rss_after = proc.rss()
    finally:
        await proc.stop()
    return phases, {"startup_s": startup, "rss_start_mb": rss_start, "rss_after_mb": rss_after}


def report(label: str, phases: list[Phase], extra: dict[str, Any]) -> None:
    print(f"\n## {label}")
    print("| load | 2xx/s | median ms | p99 ms | median ms reaction / ask | CPU ms per 2xx | statuses |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for phase in phases:
        if phase.name != "warm-up":
            print(phase.row())
    print("  " + ", ".join(f"{k} = {v:.2f}" if isinstance(v, float) else f"{k} = {v}"
                           for k, v in extra.items()))


BenchBare = Callable[[Path, str, argparse.Namespace], Awaitable[tuple[list[Phase], dict[str, Any]]]]
BenchLeanon = Callable[[str, str, Path, str, argparse.Namespace],
                       Awaitable[tuple[list[Phase], dict[str, Any]]]]


async def side_by_side(targets: list[str], prefix: str, args: argparse.Namespace,
                       bare: BenchBare, leanon: BenchLeanon,
                       measure: Callable[[list[Phase]], float]) -> dict[str, float]:
    """Run the bare bolt app, leanon on SQLite and on a fresh PostgreSQL database (those of
    `targets`) one after the other against one fake Slack; print each one's tables and
    return `measure` of each one's phases, by target."""
    measured: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        workdir = Path(tmp)
        fake, api_base = await fake_slack(workdir)
        try:
            if "bare" in targets:
                phases, extra = await bare(workdir, api_base, args)
                report("bare slack-bolt AsyncApp (acks only)", phases, extra)
                measured["bare"] = measure(phases)
            if "sqlite" in targets:
                phases, extra = await leanon("sqlite", f"sqlite:///{workdir / 'leanon.db'}",
                                             workdir, api_base, args)
                report("leanon run, SQLite", phases, extra)
                measured["sqlite"] = measure(phases)
            if "postgres" in targets:
                async with ScratchPostgres() as url:
                    phases, extra = await leanon("postgres", url, workdir, api_base, args)
                report("leanon run, PostgreSQL", phases, extra)
                measured["postgres"] = measure(phases)
        finally:
            await fake.stop()
    return measured


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,100,200")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--targets", default="bare,sqlite,postgres")
    parser.add_argument("--log-level", default="INFO", help="leanon's LEANON_LOG_LEVEL")
    parser.add_argument("--mix", choices=sorted(MIXES), default="half",
                        help="what is sent: half reactions and half /ask, or one kind only")
    args = parser.parse_args()
    global mix
    mix = MIXES[args.mix]
    args.rates = [min(float(r), 2000.0) for r in args.rates.split(",") if r]
    args.duration = min(max(args.duration, 1.0), 60.0)
    args.concurrency = min(max(args.concurrency, 1), 256)
    targets = [t.strip() for t in args.targets.split(",")]
    print(f"# Slack HTTP ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC) on {machine()}")
    print(f"  rates {args.rates} req/s for {args.duration} s each, then {args.concurrency} in flight; "
          f"{SAID[args.mix]}")
    saturation = await side_by_side(targets, "leanon-bench-http-", args, bench_bare, bench_leanon,
                                    lambda phases: phases[-1].ok / phases[-1].elapsed)
    if "bare" in saturation:
        for name in ("sqlite", "postgres"):
            if name in saturation:
                print(f"  leanon ({name}) / bare at saturation: {saturation[name] / saturation['bare']:.0%}")


if __name__ == "__main__":
    asyncio.run(main())

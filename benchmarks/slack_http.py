"""Benchmarks 1 and 6 of issue 7: Slack HTTP ack latency and throughput, and leanon's footprint.

Starts a fake Slack Web API (benchmarks/fake_slack_server.py) and the servers compared: a
bare slack-bolt AsyncApp that only acks (the ceiling), and `leanon run` in Slack HTTP mode on
SQLite and on a fresh PostgreSQL database. Each gets signed requests on 127.0.0.1, half
`reaction_added` events (a new message each: a new thanks) and half `/ask` commands
(`--mix reactions` or `--mix asks`: one kind only):

- open loop at fixed offered rates (`--rates`, each for `--duration` s), one server after
  the other: latency is measured from the moment a request was due, so a server that falls
  behind is charged for it;
- closed loop at saturation (`--concurrency` requests in flight for `--duration` s in all):
  the completed 2xx per second is the max sustained rate. With reactions alone the servers
  run at once and take turns, in `--rounds` slices each (bare, SQLite, PostgreSQL, bare,
  …), each slice once every server is idle again, so that the machine's drift from minute
  to minute (these machines are shared) weighs on every server alike rather than on
  whichever ran in a slow minute. With `/ask` in the mix each server runs alone, one after
  the other (its workers go on with the asks long after their answers).

With two CPUs or more (and without `--no-pin`), each server runs on the first and the load
(this process, and the fake Slack) on the second, as the issues' targets are stated; the
database server is left to the scheduler.

For leanon it also reports the start-up time to /readyz = 200, RSS after start and after the
load, and how many thanks were recorded (reactions acked with 200 must each be one thanks).

    PYTHONPATH=. python benchmarks/slack_http.py [--rates 50,100,200] [--duration 10]
        [--concurrency 32] [--rounds 4] [--no-pin] [--targets bare,sqlite,postgres]
        [--mix half|reactions|asks]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
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

    def add(self, other: Phase) -> None:
        """Count `other` (a slice of the same load) in."""
        self.elapsed += other.elapsed
        for kind, values in other.latencies.items():
            self.latencies[kind] += values
        self.statuses.update(other.statuses)
        self.reactions_ok += other.reactions_ok
        self.reactions_sent += other.reactions_sent
        self.cpu_seconds = (other.cpu_seconds if self.cpu_seconds != self.cpu_seconds
                            else self.cpu_seconds + other.cpu_seconds)

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


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256),
                                 timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT))


async def _measured(run: Awaitable[Phase], pid: int, settle: float) -> Phase:
    """`run`, with the CPU time process `pid` used through it and the `settle` s after."""
    before = cpu_seconds(pid)
    phase = await run
    await asyncio.sleep(settle)  # let the work after the acks finish
    phase.cpu_seconds = cpu_seconds(pid) - before
    return phase


async def fixed_rates(base: str, api_base: str, rates: list[float], duration: float,
                      pid: int) -> list[Phase]:
    """A warm-up, then each offered rate, against the server at `base` (process `pid`,
    whose CPU time each phase records, the work left after its acks included)."""
    url = f"{base}/slack/events"
    async with _session() as session:
        phases = [await open_loop(session, url, api_base, 20, 2)]  # warm-up, not in the table
        phases[0].name = "warm-up"
        for rate in rates:
            phases.append(await _measured(open_loop(session, url, api_base, rate, duration),
                                          pid, 2))
    return phases


async def load(base: str, api_base: str, rates: list[float], duration: float,
               concurrency: int, pid: int) -> list[Phase]:
    """`fixed_rates`, then saturation for `duration` s in one go."""
    phases = await fixed_rates(base, api_base, rates, duration, pid)
    async with _session() as session:
        phases.append(await _measured(closed_loop(session, f"{base}/slack/events", api_base,
                                                  concurrency, duration), pid, 3))
    return phases


async def idle(pid: int, within: float = 60.0) -> float:
    """Wait until process `pid` uses less than a tenth of a core (its work after the acks
    done), at most `within` s; the seconds waited."""
    started = time.perf_counter()
    used = cpu_seconds(pid)
    while time.perf_counter() - started < within:
        await asyncio.sleep(0.25)
        now = cpu_seconds(pid)
        if now - used < 0.025:
            break
        used = now
    return time.perf_counter() - started


def pin(pid: int, cpu: int) -> None:
    """Every thread of process `pid` (0: this one) onto `cpu`."""
    tasks = Path(f"/proc/{pid or os.getpid()}/task")
    for tid in (int(t.name) for t in tasks.iterdir()):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(tid, {cpu})


async def count_thanks(database_url: str) -> int:
    store = SqlStore.from_url(database_url)
    try:
        async with store.engine.connect() as connection:
            return int((await connection.execute(text("SELECT count(*) FROM thanks"))).scalar_one())
    finally:
        await store.close()


@dataclass
class Server:
    """One of the servers compared, running."""

    name: str  # "bare", "sqlite", "postgres"
    label: str
    proc: Proc
    base: str
    database_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    phases: list[Phase] = field(default_factory=list)


async def start_leanon(name: str, label: str, database_url: str, workdir: Path, api_base: str,
                       args: argparse.Namespace) -> Server:
    port = free_port()
    env = leanon_env(database_url, port, f"{api_base}/api/", LEANON_LOG_LEVEL=args.log_level)
    proc = await Proc(leanon_command(), env, workdir, workdir / f"leanon-{name}.log").start()
    server = Server(name, label, proc, f"http://127.0.0.1:{port}", database_url)
    await _ready(server, args)
    return server


async def start_bare(workdir: Path, api_base: str, args: argparse.Namespace) -> Server:
    port = free_port()
    proc = await Proc(bare_bolt_command(port, f"{api_base}/api/"), None, ROOT,
                      workdir / "bare.log").start()
    server = Server("bare", "bare slack-bolt AsyncApp (acks only)", proc,
                    f"http://127.0.0.1:{port}")
    await _ready(server, args)
    return server


async def _ready(server: Server, args: argparse.Namespace) -> None:
    if args.pin:
        pin(server.proc.pid, 0)
    server.extra["startup_s"] = await server.proc.wait_http(f"{server.base}/readyz")
    if args.pin:
        pin(server.proc.pid, 0)  # the threads it started meanwhile too
    await asyncio.sleep(1)
    server.extra["rss_start_mb"] = server.proc.rss()


async def saturation_in_turns(servers: list[Server], api_base: str, args: argparse.Namespace,
                              rounds: int, settle: float) -> None:
    """Each server's saturation phase, in `rounds` slices taken in turns, each once every
    server is idle again (waiting at most `settle` s for each)."""
    name = f"saturation ({args.concurrency} in flight, {rounds} turns)"
    totals = {server.name: Phase(name, None) for server in servers}
    waited = dict.fromkeys(totals, 0.0)
    turns: dict[str, list[str]] = {server.name: [] for server in servers}
    async with _session() as session:
        for _ in range(rounds):
            for server in servers:
                for other in servers:
                    waited[other.name] += await idle(other.proc.pid, settle)
                before = cpu_seconds(server.proc.pid)
                part = await closed_loop(session, f"{server.base}/slack/events", api_base,
                                         args.concurrency, args.duration / rounds)
                waited[server.name] += await idle(server.proc.pid, settle)
                part.cpu_seconds = cpu_seconds(server.proc.pid) - before
                totals[server.name].add(part)
                turns[server.name].append(f"{part.ok / part.elapsed:.0f}")
    for server in servers:
        server.phases.append(totals[server.name])
        server.extra["idle_wait_s"] = waited[server.name]
        server.extra["saturation_turns_per_s"] = " / ".join(turns[server.name])


async def compare(targets: list[str], args: argparse.Namespace) -> dict[str, float]:
    """Run the fixed rates against each server of `targets`, then saturation; print each
    one's tables and return its saturation rate.

    Reactions alone: the servers run at once, the saturation in turns (a reaction leaves
    little work after its answer, so a server is idle again within a second). With `/ask`
    in the mix each server runs alone, one after the other, as its workers go on with the
    asks long after their answers."""
    names = [name for name in ("bare", "sqlite", "postgres") if name in targets]
    in_turns = args.mix == "reactions"
    rates: dict[str, float] = {}
    async with contextlib.AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="leanon-bench-http-")))
        fake, api_base = await fake_slack(workdir)
        stack.push_async_callback(fake.stop)
        for group in [names] if in_turns else [[name] for name in names]:
            async with contextlib.AsyncExitStack() as running:
                servers = [await _start(name, workdir, api_base, args, running) for name in group]
                for server in servers:
                    server.phases = await fixed_rates(server.base, api_base, args.rates,
                                                      args.duration, server.proc.pid)
                await saturation_in_turns(servers, api_base, args,
                                          args.rounds if in_turns else 1,
                                          60.0 if in_turns else 3.0)
                for server in servers:
                    await _finish(server)
                    rates[server.name] = server.phases[-1].ok / server.phases[-1].elapsed
    return rates


async def _start(name: str, workdir: Path, api_base: str, args: argparse.Namespace,
                 running: contextlib.AsyncExitStack) -> Server:
    if name == "bare":
        server = await start_bare(workdir, api_base, args)
    elif name == "sqlite":
        server = await start_leanon(name, "leanon run, SQLite",
                                    f"sqlite:///{workdir / 'leanon.db'}", workdir, api_base, args)
    else:
        url = await running.enter_async_context(ScratchPostgres())
        server = await start_leanon(name, "leanon run, PostgreSQL", url, workdir, api_base, args)
    running.push_async_callback(server.proc.stop)
    return server


async def _finish(server: Server) -> None:
    """Stop the server, count its thanks, print its tables."""
    server.extra["rss_after_mb"] = server.proc.rss()
    await server.proc.stop()
    if server.database_url is not None:
        sent = sum(p.reactions_sent for p in server.phases)
        recorded = await count_thanks(server.database_url)
        server.extra.update(reactions_sent=sent, thanks_recorded=recorded,
                            reactions_acked_2xx=sum(p.reactions_ok for p in server.phases),
                            thanks_lost=sent - recorded)
    report(server.label, server.phases, server.extra)


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
    parser.add_argument("--rounds", type=int, default=4,
                        help="saturation in this many turns of each server (reactions alone)")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="leave the servers and the load to the scheduler")
    args = parser.parse_args()
    args.pin = args.pin and (os.cpu_count() or 1) >= 2
    args.rounds = min(max(args.rounds, 1), 20)
    global mix
    mix = MIXES[args.mix]
    args.rates = [min(float(r), 2000.0) for r in args.rates.split(",") if r]
    args.duration = min(max(args.duration, 1.0), 60.0)
    args.concurrency = min(max(args.concurrency, 1), 256)
    targets = [t.strip() for t in args.targets.split(",")]
    print(f"# Slack HTTP ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC) on {machine()}")
    turns = f"in {args.rounds} turns" if args.mix == "reactions" else "one server at a time"
    print(f"  rates {args.rates} req/s for {args.duration} s each, then {args.concurrency} in flight "
          f"for {args.duration} s {turns}; {SAID[args.mix]}; "
          + ("servers on CPU 0, load on CPU 1" if args.pin else "not pinned"))
    if args.pin:
        pin(0, 1)  # the load, and the fake Slack it starts
    saturation = await compare(targets, args)
    if "bare" in saturation:
        for name in ("sqlite", "postgres"):
            if name in saturation:
                print(f"  leanon ({name}) / bare at saturation: {saturation[name] / saturation['bare']:.0%}")


if __name__ == "__main__":
    asyncio.run(main())

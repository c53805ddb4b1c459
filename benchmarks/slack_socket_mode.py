"""Benchmark 2 of issue 7: Slack Socket Mode throughput, and thanks lost.

A Socket Mode server on 127.0.0.1 speaking Slack's envelope format (the tests'
`FakeSocketMode` from tests/slack/fake_slack.py, its acks timed here) and the fake Slack Web
API (benchmarks/fake_slack_server.py, whose `apps.connections.open` names that server) serve a
real `leanon run` in Socket Mode (SLACK_APP_TOKEN + SLACK_BOT_TOKEN), on SQLite and then on a
fresh PostgreSQL database. The server pushes `--envelopes` `reaction_added` events (events_api
envelopes, each with its own envelope_id, a new giver and a new message, the thanks emoji):

- `window`: at most `--window` envelopes un-acked at a time, the next one sent when an ack
  arrives (or when Slack would give up on one: 3 s);
- `burst`: all of them at once, as Slack does (it does not wait for acks).

The givers are members of the workspace, as Slack's `users.list` lists them: each leanon
is sent one reaction by a bot first (ignored; it makes leanon read the workspace's member
list, a page every 3 s in the background) and the load begins once the list is read, as in a
workspace where leanon has been running. `--members unlisted` leaves the list empty, so that
every new giver is looked up with `users.info` on the answer path (the cold case).

Each mode gets a fresh database and a fresh leanon. Reported: acks/s, ack latency (p50/p99),
thanks recorded/s (envelopes / time from the first envelope to the last thanks row, the
table polled every 50 ms), envelopes not acked within Slack's 3 s, and thanks lost. Like
Slack, every envelope not acked within 3 s is delivered once more after the run
(`retry_attempt` 1, `retry_reason` "timeout"); lost = envelopes - thanks rows after that.

    PYTHONPATH=. python benchmarks/slack_socket_mode.py [--envelopes 2000] [--window 100]
        [--modes window,burst] [--targets sqlite,postgres] [--members listed|unlisted]
        [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from common import (
    TEAM,
    TESTS_SLACK,
    ScratchPostgres,
    ThanksWatch,
    cpu_seconds,
    free_port,
    leanon_env,
    load_average,
    log_levels,
    machine,
    ms,
)
from procs import Proc, fake_slack, leanon_command

from tests.slack.fake_slack import APP_TOKEN, FakeSocketMode

ACK_DEADLINE = 3.0  # Slack's: an envelope not acked within 3 s is delivered again
MAX_ENVELOPES = 20_000
RECEIVERS = 50  # the authors of the reacted messages (their users.info is cached after one)
CHANNEL = "CBENCH0001"
TARGET_RATE = 600.0


def payload(name: str) -> dict[str, Any]:
    """One of the tests' documented Slack payloads (tests/slack/payloads/)."""
    return json.loads((TESTS_SLACK / "payloads" / f"{name}.json").read_text())  # type: ignore[no-any-return]


class TimedAcks(dict[str, dict[str, Any]]):
    """`FakeSocketMode.acks` that also notes when each ack arrived and tells the sender."""

    def __init__(self) -> None:
        super().__init__()
        self.at: dict[str, float] = {}
        self.listener: Any = None
        self.arrived = asyncio.Event()

    def __setitem__(self, envelope_id: str, ack: dict[str, Any]) -> None:
        self.at.setdefault(envelope_id, time.monotonic())
        super().__setitem__(envelope_id, ack)
        self.arrived.set()
        if self.listener is not None:
            self.listener(envelope_id)

    async def wait(self, envelope_ids: list[str], within: float) -> int:
        """Wait (at most `within` s) until every one of `envelope_ids` is acked; how many are."""
        deadline = time.monotonic() + within
        while (missing := sum(1 for e in envelope_ids if e not in self.at)) and time.monotonic() < deadline:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), max(0.0, deadline - time.monotonic()))
        return len(envelope_ids) - missing

    def reset(self) -> None:
        self.clear()
        self.at.clear()
        self.listener = None


def envelope(run: str, n: int, retry: int = 0) -> dict[str, Any]:
    """A `reaction_added` events_api envelope: giver n thanks receiver n % RECEIVERS on message n."""
    body = payload("event_reaction_added")
    ts = f"{1700000000 + n}.{n % 1_000_000:06d}"
    body.update(event_id=f"EvSM{run}{n:07d}", event_time=int(time.time()), team_id=TEAM)
    body["event"].update(user=f"UBENCHG{n:07d}", item_user=f"UBENCHR{n % RECEIVERS:04d}",
                         reaction="pray", event_ts=ts,
                         item={"type": "message", "channel": CHANNEL, "ts": ts})
    return {"envelope_id": f"{run}-{n}" + (f"-r{retry}" if retry else ""), "type": "events_api",
            "payload": body, "accepts_response_payload": False, "retry_attempt": retry,
            "retry_reason": "timeout" if retry else ""}


@dataclass
class Run:
    label: str
    mode: str
    envelopes: int
    sent: dict[str, float] = field(default_factory=dict)  # envelope id → when sent
    acked: dict[str, float] = field(default_factory=dict)
    first_sent: float = 0.0
    last_sent: float = 0.0
    recorded_first_pass: int = 0
    last_row: float = float("nan")
    redelivered: int = 0
    redelivered_acked: int = 0
    recorded: int = 0
    distinct: int = 0
    startup: float = 0.0
    rss_start: float = 0.0
    rss_after: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # process → CPU s during the run
    wall: float = 0.0
    problems: dict[str, int] = field(default_factory=dict)

    def latencies(self) -> list[float]:
        return [self.acked[e] - self.sent[e] for e in self.acked if e in self.sent]

    def in_time(self) -> int:
        return sum(1 for v in self.latencies() if v <= ACK_DEADLINE)

    def acks_per_s(self) -> float:
        if not self.acked:
            return 0.0
        return len(self.acked) / max(max(self.acked.values()) - self.first_sent, 1e-9)

    def recorded_per_s(self) -> float:
        return self.recorded_first_pass / max(self.last_row - self.first_sent, 1e-9)

    @property
    def lost(self) -> int:
        return self.envelopes - self.recorded

    def row(self) -> str:
        p50, p99, worst = ms(self.latencies())
        return (f"| {self.label} | {self.mode} | {self.envelopes} | {self.acks_per_s():.0f} | {p50:.0f} | "
                f"{p99:.0f} | {worst:.0f} | **{self.recorded_per_s():.0f}** | "
                f"{self.envelopes - self.in_time()} | {self.redelivered} ({self.redelivered_acked}) | "
                f"{self.recorded} | **{self.lost}** | "
                f"{self.cpu.get('leanon', 0) * 1000 / self.envelopes:.1f} |")


async def push(server: FakeSocketMode, acks: TimedAcks, run: Run, window: int | None) -> None:
    """Send the envelopes: all at once (window None) or with at most `window` un-acked."""
    slots = asyncio.Semaphore(window or MAX_ENVELOPES)
    timers: dict[str, asyncio.TimerHandle] = {}
    loop = asyncio.get_running_loop()

    def free(envelope_id: str) -> None:
        timer = timers.pop(envelope_id, None)
        if timer is not None:
            timer.cancel()
            slots.release()

    acks.listener = free
    label = run.label[:1] + run.mode[:1]
    run.first_sent = time.monotonic()
    for n in range(run.envelopes):
        await slots.acquire()
        message = envelope(label, n)
        now = time.monotonic()
        run.sent[message["envelope_id"]] = now
        timers[message["envelope_id"]] = loop.call_later(ACK_DEADLINE, free, message["envelope_id"])
        await server.send(message)
    run.last_sent = time.monotonic()


async def members_listed(server: FakeSocketMode, api_base: str) -> None:
    """A bot's reaction (ignored: it thanks nobody) makes leanon read the workspace's member
    list; until every page of it was read."""
    warm = envelope("warm", 0)
    warm["payload"]["event"]["user"] = "UOTHERBOT"
    await server.send(warm)
    async with aiohttp.ClientSession() as session:
        for _ in range(1200):
            async with session.get(f"{api_base}/_bench/members") as answer:
                if (await answer.json())["done"]:
                    await asyncio.sleep(0.5)  # the last page taken in
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("leanon did not read the workspace's member list within 2 minutes")


async def bench(label: str, mode: str, database_url: str, workdir: Path, server: FakeSocketMode,
                acks: TimedAcks, fake: Proc, api_base: str, args: argparse.Namespace) -> Run:
    """One `leanon run` in Socket Mode on a fresh database: the envelopes, Slack's redelivery, the count."""
    run = Run(label, mode, args.envelopes)
    port = free_port()
    env = leanon_env(database_url, port, f"{api_base}/api/", SLACK_APP_TOKEN=APP_TOKEN,
                     LEANON_LOG_LEVEL=args.log_level)
    env.pop("SLACK_SIGNING_SECRET")
    command = leanon_command()
    if args.profile:
        out = Path(args.profile) / f"socket-{label}-{mode}.pyisession"
        command = [sys.executable, "-m", "pyinstrument", "-i", "0.002", "-r", "pyisession", "-o", str(out),
                   "-m", "bot.cli", "run"]
    log = workdir / f"leanon-{label}-{mode}.log"
    proc = Proc(command, env, workdir, log)
    acks.reset()
    connections = len(server.sockets)
    await proc.start()
    try:
        run.startup = await proc.wait_http(f"http://127.0.0.1:{port}/readyz", within=60)
        if len(server.sockets) <= connections:
            raise RuntimeError("leanon is ready but did not connect to the Socket Mode server")
        await asyncio.sleep(1)
        if args.members == "listed":
            await members_listed(server, api_base)
        run.rss_start = proc.rss()
        cpu_before = {"leanon": cpu_seconds(proc.pid), "fake Slack": cpu_seconds(fake.pid)}
        async with ThanksWatch(database_url, "slack") as watch:
            await push(server, acks, run, args.window if mode == "window" else None)
            await watch.until(run.envelopes, within=max(120.0, run.envelopes / 10))
            run.recorded_first_pass, run.last_row = watch.rows, watch.last_seen()
            run.wall = time.monotonic() - run.first_sent
            run.cpu = {name: cpu_seconds(p) - cpu_before[name]
                       for name, p in (("leanon", proc.pid), ("fake Slack", fake.pid))}
            # Acks still on their way: the 3 s deadline of the last envelopes, and some more.
            await acks.wait(list(run.sent), ACK_DEADLINE + 30)
            run.acked = {e: t for e, t in acks.at.items() if e in run.sent}
            # Slack delivers again what was not acked in time: once, with retry_attempt 1.
            again = [e for e, t in run.sent.items() if run.acked.get(e, float("inf")) - t > ACK_DEADLINE]
            run.redelivered = len(again)
            retries = []
            for envelope_id in again:
                n = int(envelope_id.rsplit("-", 1)[1])
                retry = envelope(envelope_id.split("-", 1)[0], n, retry=1)
                retries.append(retry["envelope_id"])
                await server.send(retry)
            run.redelivered_acked = await acks.wait(retries, ACK_DEADLINE + 30)
            await watch.until(run.envelopes, within=10 if again else 1, stalled=5)
            run.recorded = watch.rows
            run.distinct = len(watch.seen)
        run.rss_after = proc.rss()
    finally:
        await proc.stop()
    run.problems = dict(log_levels(log).most_common(6))
    return run


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envelopes", type=int, default=2000)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--modes", default="window,burst")
    parser.add_argument("--targets", default="sqlite,postgres")
    parser.add_argument("--members", choices=["listed", "unlisted"], default="listed",
                        help="whether users.list lists the givers (unlisted: users.info each)")
    parser.add_argument("--log-level", default="INFO", help="leanon's LEANON_LOG_LEVEL")
    parser.add_argument("--logs", default="", help="a directory to keep the logs and databases in")
    parser.add_argument("--profile", default="", help="a directory: run leanon under pyinstrument, "
                        "text reports there (pip install pyinstrument into .venv first)")
    args = parser.parse_args()
    args.envelopes = min(max(args.envelopes, 1), MAX_ENVELOPES)
    args.window = min(max(args.window, 1), 1000)
    modes = [m.strip() for m in args.modes.split(",") if m.strip() in {"window", "burst"}]
    targets = [t.strip() for t in args.targets.split(",") if t.strip() in {"sqlite", "postgres"}]
    print(f"# Slack Socket Mode ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC) on {machine()}")
    print(f"  {args.envelopes} reaction_added envelopes per run (a new giver and message each, "
          f"{RECEIVERS} receivers; givers {args.members} by users.list); window = at most "
          f"{args.window} un-acked, burst = all at once")
    print(f"  {load_average()} at the start", flush=True)
    runs: list[Run] = []
    acks = TimedAcks()
    server = await FakeSocketMode(hello=payload("socket_hello"), acks=acks).start()
    with tempfile.TemporaryDirectory(prefix="leanon-bench-socket-") as tmp:
        workdir = Path(args.logs or tmp)
        await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
        listed = f"UBENCHG:7:{args.envelopes},UBENCHR:4:{RECEIVERS}" if args.members == "listed" else ""
        fake, api_base = await fake_slack(workdir, "--ws-url", server.url, "--listed", listed)
        try:
            for target in targets:
                for mode in modes:
                    if target == "sqlite":
                        url = f"sqlite:///{workdir / f'leanon-{mode}.db'}"
                        runs.append(await bench("SQLite", mode, url, workdir, server, acks, fake, api_base,
                                                args))
                    else:
                        async with ScratchPostgres() as url:
                            runs.append(await bench("PostgreSQL", mode, url, workdir, server, acks,
                                                    fake, api_base, args))
                    print(f"  … {runs[-1].label} {mode} done", flush=True)
        finally:
            await fake.stop()
            await server.stop()
    print("\n| database | mode | envelopes | acks/s | ack p50 ms | ack p99 ms | ack max ms | "
          "thanks recorded/s | not acked in 3 s | redelivered (acked) | thanks rows | lost | "
          "leanon CPU ms/envelope |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for run in runs:
        print(run.row())
    print()
    for run in runs:
        print(f"  {run.label} {run.mode}: start-up to /readyz {run.startup:.2f} s, RSS {run.rss_start:.1f} → "
              f"{run.rss_after:.1f} MB; sending took {run.last_sent - run.first_sent:.2f} s; CPU in the "
              f"{run.wall:.1f} s to the last row: "
              + ", ".join(f"{name} {cpu:.1f} s" for name, cpu in run.cpu.items()) + "; "
              f"thanks before redelivery {run.recorded_first_pass}; distinct messages {run.distinct}; "
              f"log: {run.problems or 'no warnings'}")
    print(f"  {load_average()} at the end")
    for run in runs:
        met = run.recorded_per_s() >= TARGET_RATE and run.lost == 0
        print(f"  target ({run.label} {run.mode}: >= {TARGET_RATE:.0f} thanks recorded/s, 0 lost): "
              f"{'met' if met else 'MISSED'}")


if __name__ == "__main__":
    asyncio.run(main())

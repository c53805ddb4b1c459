"""Benchmark 3 of issue 7 (Discord event throughput) and the Discord part of 6 (footprint).

Starts the tests' fake Discord in its own process (benchmarks/fake_discord_server.py: REST
and gateway from tests/discord/) and the fake Slack Web API, then a real `leanon run` with
Slack HTTP mode + Discord (DISCORD_TOKEN, DISCORD_API_URL, DISCORD_GATEWAY_URL pointing at
the fake) + the scheduler, on SQLite and then on a fresh PostgreSQL database:

1. start-up time to /readyz = 200 and RSS one second later;
2. reactions: `--reactions` MESSAGE_REACTION_ADD dispatches (🙏, each on a new message by a
   new member, `--receivers` authors) pushed through the gateway as fast as it takes them.
   Reported: reactions recorded/s (reactions / time from the first dispatch to the last
   thanks row), and per reaction the time from its dispatch to (a) its thanks row being
   visible in the database (the table polled every 50 ms: within 50 ms) and (b) its
   receiver's thanks DM reaching the fake REST API (exact: the handler's last step);
3. interactions: `--interactions` `/ask` (a question each), then "I can help" on each card,
   each burst as fast as the gateway takes it. Reported: interactions/s and the time from
   dispatch to the interaction callback reaching the fake REST API (p50/p99), the time to
   the complete answer, and how many were answered after Discord's 3 s;
4. `--slack-load`: benchmark 1's Slack HTTP load (slack_http.py) on the same process, then
   RSS again ("after the load": Discord and Slack HTTP).

    PYTHONPATH=. python benchmarks/discord_events.py [--reactions 5000] [--interactions 500]
        [--targets sqlite,postgres] [--slack-load 50,100,200] [--slack-duration 10] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from common import (
    ScratchPostgres,
    ThanksWatch,
    cpu_seconds,
    free_port,
    leanon_env,
    load_average,
    log_levels,
    machine,
    median,
    ms,
)
from procs import Proc, fake_discord, fake_slack, leanon_command
from slack_http import load as slack_load

from tests.discord.fake_discord import TOKEN  # the token the fake Discord accepts

MAX_REACTIONS = 50_000
MAX_INTERACTIONS = 5_000
DISCORD_DEADLINE = 3.0  # Discord's: an interaction not answered within 3 s fails for the member
TARGET_RATE, TARGET_RSS_MB, TARGET_STARTUP_S = 1000.0, 150.0, 3.0


@dataclass
class Interactions:
    kind: str
    count: int = 0
    first_sent: float = 0.0
    to_callback: list[float] = field(default_factory=list)
    to_answer: list[float] = field(default_factory=list)
    last_callback: float = float("nan")
    deferred: int = 0
    unanswered: int = 0

    def rate(self) -> float:
        return len(self.to_callback) / max(self.last_callback - self.first_sent, 1e-9)

    def late(self) -> int:
        return sum(1 for v in self.to_callback if v > DISCORD_DEADLINE) + self.unanswered


@dataclass
class Result:
    label: str
    http_up: float = 0.0  # /healthz answers: migrations done, Slack's auth.test passed
    startup: float = 0.0
    rss_start: float = 0.0
    rss_after_discord: float = 0.0
    rss_after: float = float("nan")
    reactions: int = 0
    sending: float = 0.0
    recorded_first_pass: int = 0
    recorded: int = 0
    rate: float = 0.0
    to_row: list[float] = field(default_factory=list)
    to_dm: list[float] = field(default_factory=list)
    dms: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU s from the first dispatch to the last row
    wall: float = 0.0
    cpu_to_dms: float = 0.0  # leanon's CPU s from the first dispatch to the last thanks DM
    interactions: list[Interactions] = field(default_factory=list)
    problems: dict[str, int] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return self.reactions - self.recorded


async def control(session: aiohttp.ClientSession, base: str, what: str, **data: int) -> dict[str, Any]:
    """A request to the fake Discord's load controls (/_bench/…)."""
    if data:
        async with session.post(f"{base}/_bench/{what}", json=data) as response:
            response.raise_for_status()
            return await response.json()  # type: ignore[no-any-return]
    async with session.get(f"{base}/_bench/{what}") as response:
        response.raise_for_status()
        return await response.json()  # type: ignore[no-any-return]


async def wait_timings(session: aiohttp.ClientSession, base: str, key: str, wanted: set[str],
                       within: float) -> dict[str, Any]:
    """Poll the fake's timings until `key` has every one of `wanted` (or `within` s pass)."""
    deadline = time.monotonic() + within
    while True:
        timings = await control(session, base, "timings")
        if wanted <= set(timings[key]) or time.monotonic() > deadline:
            return timings
        await asyncio.sleep(0.2)


async def reactions(result: Result, proc: Proc, fake: Proc, session: aiohttp.ClientSession,
                    base: str, database_url: str, args: argparse.Namespace) -> None:
    """The reactions phase: the burst, then the rows (polled) and the thanks DMs (the fake's)."""
    count = result.reactions = args.reactions
    cpu_before = {"leanon": cpu_seconds(proc.pid), "fake Discord": cpu_seconds(fake.pid)}
    async with ThanksWatch(database_url, "discord") as watch:
        started = time.monotonic()
        # message id → (when it was dispatched, the giver: a new member for each reaction)
        sent: dict[str, tuple[float, str]] = (await control(session, base, "reactions", count=count,
                                                            receivers=args.receivers))["sent"]
        result.sending = time.monotonic() - started
        await watch.until(count, within=max(120.0, count / 20))
        first = min(t for t, _giver in sent.values())
        result.wall = time.monotonic() - first
        result.cpu = {name: cpu_seconds(p.pid) - cpu_before[name]
                      for name, p in (("leanon", proc), ("fake Discord", fake))}
        result.recorded_first_pass = watch.rows
        result.rate = watch.rows / max(watch.last_seen() - first, 1e-9)
        result.to_row = [watch.seen[m] - t for m, (t, _giver) in sent.items() if m in watch.seen]
    # The thanks DM is the handler's last step; it names the giver.
    dms = (await wait_timings(session, base, "dms", {g for _t, g in sent.values()}, within=60))["dms"]
    result.cpu_to_dms = cpu_seconds(proc.pid) - cpu_before["leanon"]
    result.dms = len(dms)
    result.to_dm = [dms[giver] - t for t, giver in sent.values() if giver in dms]


async def interactions(kind: str, count: int, session: aiohttp.ClientSession, base: str) -> Interactions:
    """A burst of `count` interactions (`asks` or `presses`), timed until each is fully answered."""
    out = Interactions(kind)
    ids = (await control(session, base, kind, count=count))["ids"]
    timings = await wait_timings(session, base, "finals", set(ids), within=max(60.0, count / 5))
    sent = {i: timings["sent"][i] for i in ids}
    out.count, out.first_sent = len(ids), min(sent.values())
    callbacks = {i: timings["callbacks"][i] for i in ids if i in timings["callbacks"]}
    out.to_callback = [at - sent[i] for i, (at, _kind) in callbacks.items()]
    out.to_answer = [timings["finals"][i] - sent[i] for i in ids if i in timings["finals"]]
    out.last_callback = max((at for at, _kind in callbacks.values()), default=float("nan"))
    out.deferred = sum(1 for _at, kind_ in callbacks.values() if kind_ == 5)
    out.unanswered = len(ids) - len(callbacks)
    return out


@dataclass
class Startup:
    config: str
    http_up: list[float] = field(default_factory=list)
    ready: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)


async def startups(workdir: Path, runs: int) -> list[Startup]:
    """Start `leanon run` `runs` times each with Slack HTTP alone and with Slack HTTP + Discord
    (a fresh SQLite file each time, migrations included): /healthz, /readyz and RSS one second
    later. Alternating the two, so that the machine's load falls on both alike."""
    configs = [Startup("Slack HTTP + scheduler"), Startup("Slack HTTP + Discord + scheduler")]
    fake_slack_proc, slack_base = await fake_slack(workdir)
    fake, base = await fake_discord(workdir)
    discord_env = {"DISCORD_TOKEN": TOKEN, "DISCORD_API_URL": f"{base}/api/v10",
                   "DISCORD_GATEWAY_URL": base.replace("http://", "ws://") + "/gateway"}
    try:
        for n in range(runs):
            for startup in configs:
                port = free_port()
                extra = discord_env if "Discord" in startup.config else {}
                env = leanon_env(f"sqlite:///{workdir / f'startup-{n}-{len(extra)}.db'}", port,
                                 f"{slack_base}/api/", **extra)
                proc = Proc(leanon_command(), env, workdir, workdir / "leanon-startup.log")
                try:
                    await proc.start()
                    local = f"http://127.0.0.1:{port}"
                    startup.http_up.append(await proc.wait_http(f"{local}/healthz", within=60))
                    startup.ready.append(await proc.wait_http(f"{local}/readyz", within=60))
                    await asyncio.sleep(1)
                    startup.rss.append(proc.rss())
                finally:
                    await proc.stop()
    finally:
        await fake.stop()
        await fake_slack_proc.stop()
    return configs


async def bench(label: str, database_url: str, workdir: Path, args: argparse.Namespace) -> Result:
    """One `leanon run` (Slack HTTP + Discord + scheduler) through every phase, on one database."""
    result = Result(label)
    fake_slack_proc, slack_base = await fake_slack(workdir)
    fake, base = await fake_discord(workdir)
    port = free_port()
    gateway = base.replace("http://", "ws://") + "/gateway"
    env = leanon_env(database_url, port, f"{slack_base}/api/", DISCORD_TOKEN=TOKEN,
                     DISCORD_API_URL=f"{base}/api/v10", DISCORD_GATEWAY_URL=gateway,
                     LEANON_LOG_LEVEL=args.log_level)
    command = leanon_command()
    if args.profile:
        out = Path(args.profile) / f"discord-{label}.pyisession"
        command = [sys.executable, "-m", "pyinstrument", "-i", "0.002", "-r", "pyisession", "-o", str(out),
                   "-m", "bot.cli", "run"]
    log = workdir / f"leanon-{label}.log"
    proc = Proc(command, env, workdir, log)
    try:
        await proc.start()
        result.http_up = await proc.wait_http(f"http://127.0.0.1:{port}/healthz", within=60)
        result.startup = await proc.wait_http(f"http://127.0.0.1:{port}/readyz", within=60)
        await asyncio.sleep(1)
        result.rss_start = proc.rss()
        timeout = aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            if args.reactions:
                await reactions(result, proc, fake, session, base, database_url, args)
            if args.interactions:
                result.interactions.append(await interactions("asks", args.interactions, session, base))
                result.interactions.append(await interactions("presses", args.interactions, session, base))
        result.rss_after_discord = proc.rss()
        if args.slack_load:
            await slack_load(f"http://127.0.0.1:{port}", slack_base, args.slack_load, args.slack_duration, 32,
                             proc.pid)
            result.rss_after = proc.rss()
    finally:
        await proc.stop()
        await fake.stop()
        await fake_slack_proc.stop()
    async with ThanksWatch(database_url, "discord") as watch:
        result.recorded = await watch.poll()
    result.problems = dict(log_levels(log).most_common(6))
    return result


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report_startups(runs: list[Startup]) -> None:
    print("\n## Start-up (SQLite, a fresh file each time: migrations included)")
    print("| configuration | runs | /healthz = 200 median (min) | /readyz = 200 median (min–max) | "
          "RSS after start median |")
    print("|---|---:|---:|---:|---:|")
    for run in runs:
        if run.ready:
            print(f"| {run.config} | {len(run.ready)} | {median(run.http_up):.2f} s "
                  f"({min(run.http_up):.2f}) | **{median(run.ready):.2f} s** "
                  f"({min(run.ready):.2f}–{max(run.ready):.2f}) | {median(run.rss):.1f} MB |")
    with_discord = runs[-1].ready
    if with_discord:
        print(f"  target (start-up with Discord < {TARGET_STARTUP_S:.0f} s on SQLite, median): "
              f"{verdict(median(with_discord) < TARGET_STARTUP_S)}")


def report(results: list[Result]) -> None:
    if not results:
        return
    print("\n## Reactions (MESSAGE_REACTION_ADD through the gateway, as fast as it takes them)")
    print("| database | reactions | sent in s | recorded/s | to row p50 ms | to row p99 ms | to row max ms | "
          "to DM p50 ms | to DM p99 ms | DMs | thanks rows | lost | leanon CPU ms/reaction (to row / DM) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        row, dm = ms(r.to_row), ms(r.to_dm)
        per = 1000 / max(r.reactions, 1)
        print(f"| {r.label} | {r.reactions} | {r.sending:.2f} | **{r.rate:.0f}** | {row[0]:.0f} | "
              f"{row[1]:.0f} | {row[2]:.0f} | {dm[0]:.0f} | {dm[1]:.0f} | {r.dms} | {r.recorded} | "
              f"**{r.lost}** | {r.cpu.get('leanon', 0) * per:.2f} / {r.cpu_to_dms * per:.2f} |")
    print("\n## Interactions (each burst as fast as the gateway takes it)")
    print("| database | interactions | count | per s | to callback p50 ms | p99 ms | max ms | "
          "to answer p99 ms | deferred | after 3 s or never |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        for i in r.interactions:
            cb, answer = ms(i.to_callback), ms(i.to_answer)
            print(f"| {r.label} | {i.kind} | {i.count} | **{i.rate():.0f}** | {cb[0]:.0f} | {cb[1]:.0f} | "
                  f"{cb[2]:.0f} | {answer[1]:.0f} | {i.deferred} | {i.late()} |")
    print("\n## Footprint (`leanon run`: Slack HTTP + Discord + scheduler)")
    print("| database | /healthz = 200 | start-up to /readyz = 200 | RSS after start (+1 s) | "
          "RSS after the Discord load | RSS after the Slack HTTP load too |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        after = f"{r.rss_after:.1f} MB" if r.rss_after == r.rss_after else "not run"  # NaN: no load
        print(f"| {r.label} | {r.http_up:.2f} s | {r.startup:.2f} s | {r.rss_start:.1f} MB | "
              f"{r.rss_after_discord:.1f} MB | {after} |")
    print()
    for r in results:
        print(f"  {r.label}: reactions phase {r.wall:.1f} s from the first dispatch, CPU "
              + ", ".join(f"{name} {cpu:.1f} s" for name, cpu in r.cpu.items())
              + f"; rows before the final count {r.recorded_first_pass}; log: {r.problems or 'no warnings'}")
    for r in results:
        print(f"  target ({r.label}: >= {TARGET_RATE:.0f} reactions recorded/s, 0 lost): "
              f"{verdict(r.rate >= TARGET_RATE and r.lost == 0)}")
        if r.label == "SQLite":
            rss = max(v for v in (r.rss_start, r.rss_after_discord, r.rss_after) if v == v)  # NaN: not run
            print(f"  target ({r.label}: RSS < {TARGET_RSS_MB:.0f} MB): {verdict(rss < TARGET_RSS_MB)}; "
                  f"start-up < {TARGET_STARTUP_S:.0f} s: {verdict(r.startup < TARGET_STARTUP_S)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reactions", type=int, default=5000)
    parser.add_argument("--receivers", type=int, default=50)
    parser.add_argument("--interactions", type=int, default=500, help="/ask commands, then as many presses")
    parser.add_argument("--targets", default="sqlite,postgres")
    parser.add_argument("--slack-load", default="50,100,200",
                        help="benchmark 1's offered rates for the footprint ('' for none)")
    parser.add_argument("--slack-duration", type=float, default=10.0)
    parser.add_argument("--startups", type=int, default=5, help="start-up runs per configuration")
    parser.add_argument("--log-level", default="INFO", help="leanon's LEANON_LOG_LEVEL")
    parser.add_argument("--logs", default="", help="a directory to keep the logs and databases in")
    parser.add_argument("--profile", default="", help="a directory: run leanon under pyinstrument "
                        "(pip install pyinstrument into .venv first); read with pyinstrument --load")
    args = parser.parse_args()
    args.reactions = min(max(args.reactions, 0), MAX_REACTIONS)
    args.interactions = min(max(args.interactions, 0), MAX_INTERACTIONS)
    args.slack_load = [min(float(r), 2000.0) for r in args.slack_load.split(",") if r]
    args.slack_duration = min(max(args.slack_duration, 1.0), 60.0)
    args.startups = min(max(args.startups, 0), 20)
    targets = [t.strip() for t in args.targets.split(",") if t.strip() in {"sqlite", "postgres"}]
    print(f"# Discord events and footprint ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC) on {machine()}")
    print(f"  {args.reactions} reactions ({args.receivers} receivers), {args.interactions} /ask then as "
          f"many 'I can help'; then Slack HTTP load {args.slack_load or 'none'} req/s for "
          f"{args.slack_duration} s each")
    print(f"  {load_average()} at the start", flush=True)
    results = []
    started: list[Startup] = []
    with tempfile.TemporaryDirectory(prefix="leanon-bench-discord-") as tmp:
        workdir = Path(args.logs or tmp)
        await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
        if args.startups:
            started = await startups(workdir, args.startups)
            print("  … start-ups done", flush=True)
        for target in targets:
            if target == "sqlite":
                results.append(await bench("SQLite", f"sqlite:///{workdir / 'leanon.db'}", workdir, args))
            else:
                async with ScratchPostgres() as url:
                    results.append(await bench("PostgreSQL", url, workdir, args))
            print(f"  … {results[-1].label} done", flush=True)
    print(f"  {load_average()} at the end")
    report(results)
    if started:
        report_startups(started)


if __name__ == "__main__":
    asyncio.run(main())

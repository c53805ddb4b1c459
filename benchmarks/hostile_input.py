"""Hostile input: the server's CPU per request for the worst input of each kind.

A real `leanon run` (Slack HTTP mode, SQLite) and the fake Slack API. Each kind of hostile
request is sent at the largest size leanon accepts (JSON bodies of 1 MiB, form bodies of
`door.FORM_MAX_BYTES`; a form over it is answered at once, unread), signed like
Slack's, `--repeat` times, one at a time; after each, the script waits until leanon is idle
again (the inbox's workers do most of a command's work after the answer) and reads the
process's CPU time from /proc. An ordinary `/ask` and an ordinary reaction are the
baseline rows, sent the same way. Meanwhile `/healthz` is asked every 20 ms: its slowest
answer tells whether one request stalled everybody.

    PYTHONPATH=. python benchmarks/hostile_input.py [--repeat 5]

Prints, per kind: the body's size, the statuses, the server's CPU per request (median and
max, minus what an idle leanon uses over the same time), and the slowest `/healthz`.
Targets (issue 12): every kind under 50 ms of CPU (the median of `--repeat`), `/healthz`
within 100 ms, no 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from common import ALICE, BOB, CHANNEL, TEAM, cpu_seconds, free_port, leanon_env, machine
from procs import Proc, fake_slack, leanon_command
from slack_http import _signed

from adapters.slack.door import FORM_MAX_BYTES

LIMIT = 1024 * 1024
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MARKS = "\u0345\u0315\u031b\u0327\u0301"  # falling combining classes: NFC's worst case
IDLE_WINDOW = 0.3  # leanon is idle when it used no CPU tick over this long
_serial = iter(range(1, 10**9))


@dataclass
class Hostile:
    name: str
    body: bytes
    headers: dict[str, str]
    path: str = "/slack/events"


@dataclass
class Result:
    statuses: list[int] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    healthz_max_ms: float = 0.0


def command(name: str, text: str, **extra: str) -> dict[str, str]:
    n = next(_serial)
    return {"token": "x", "team_id": TEAM, "team_domain": "example", "channel_id": CHANNEL,
            "channel_name": "help-desk", "user_id": ALICE, "user_name": "alice",
            "command": name, "text": text, "api_app_id": "A123456",
            "response_url": f"http://127.0.0.1:9/response/{n}", "trigger_id": f"{n}.hostile",
            **extra}


def fill(make: Callable[[str], bytes], unit: str, limit: int = LIMIT) -> bytes:
    """The largest body `make(unit * n)` of at most `limit` bytes (doubling, then halving)."""
    low, high = 1, 2
    while len(make(unit * high)) <= limit:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if len(make(unit * middle)) <= limit else (low, middle)
    return make(unit * low)


def signed_form(fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    body = urlencode(fields)
    return body.encode(), _signed(body, FORM)


def hostile_requests() -> list[Callable[[], Hostile]]:
    def form(name: str, make: Callable[[str], dict[str, str]], unit: str) -> Callable[[], Hostile]:
        def build() -> Hostile:
            body = fill(lambda text: urlencode(make(text)).encode(), unit, FORM_MAX_BYTES)
            return Hostile(name, body, _signed(body.decode(), FORM))
        return build

    def raw_json(name: str, make: Callable[[str], str], unit: str) -> Callable[[], Hostile]:
        def build() -> Hostile:
            body = fill(lambda text: make(text).encode(), unit)
            return Hostile(name, body, _signed(body.decode(), JSON))
        return build

    def reaction(_: str = "") -> str:
        n = next(_serial)
        return json.dumps({"token": "x", "team_id": TEAM, "api_app_id": "A123456",
                           "type": "event_callback", "event_id": f"Ev{n}", "event_time": 1,
                           "authorizations": [{"team_id": TEAM, "user_id": "UBOT0001",
                                               "is_bot": True}],
                           "event": {"type": "reaction_added", "user": ALICE, "reaction": "pray",
                                     "item_user": BOB, "event_ts": "1.1",
                                     "item": {"type": "message", "channel": CHANNEL,
                                              "ts": f"1700000000.{n:06d}"}}})

    def ordinary_ask() -> Hostile:
        body, headers = signed_form(command("/ask", "how do I rotate the staging keys?"))
        return Hostile("baseline: an ordinary /ask", body, headers)

    def ordinary_reaction() -> Hostile:
        body = reaction()
        return Hostile("baseline: an ordinary reaction", body.encode(), _signed(body, JSON))

    def gzip_bomb() -> Hostile:
        return Hostile("gzip bomb to /healthz (256 MiB inflated)",
                       gzip.compress(bytes(256 * LIMIT), compresslevel=9),
                       {"Content-Type": FORM, "Content-Encoding": "gzip"}, "/healthz")

    def long_timestamp() -> Hostile:
        body = urlencode(command("/ask", "hello"))
        return Hostile("signature timestamp of 8,000 digits", body.encode(),
                       {"Content-Type": FORM, "X-Slack-Request-Timestamp": "9" * 8000,
                        "X-Slack-Signature": "v0=" + "0" * 64})

    return [
        ordinary_ask, ordinary_reaction, gzip_bomb, long_timestamp,
        form("/ask of crafted combining marks", lambda t: command("/ask", "e" + t), MARKS),
        form("/ask of one long word", lambda t: command("/ask", t), "x"),
        form("/thanks naming thousands", lambda t: command("/thanks", t + "for the launch"),
             "<@U1234567> "),
        form("/thanks with an unclosed mention", lambda t: command("/thanks", "<@U12|" + t), "a"),
        form("/leanon config stale-after of digits",
             lambda t: command("/leanon", "config stale-after " + t), "1"),
        form("/leanon config thanks-emoji of many names",
             lambda t: command("/leanon", "config thanks-emoji " + t), "pray,"),
        form("button press nested deep", lambda t: {"payload": '{"type":"block_actions","x":'
                                                    + t + "1" + "]" * (len(t) // 1) + "}"}, "["),
        form("form body of escaped quotes",
             lambda t: {"payload": json.dumps({"type": "view_submission", "x": t})}, '\\"'),
        raw_json("event with many short strings",
                 lambda t: '{"type":"event_callback","x":[' + t + '"x"]}', '"\\u2028",'),
        raw_json("event nested deep", lambda t: '{"type":"event_callback","x":' + t
                 + "1" + "]" * len(t) + "}", "["),
    ]


async def idle_cpu(pid: int) -> float:
    """Wait until `pid` used no CPU for IDLE_WINDOW seconds (at most 30 s)."""
    deadline = time.monotonic() + 30
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(IDLE_WINDOW)
        now = cpu_seconds(pid)
        if now - before < 0.005:
            return now
        before = now
    return cpu_seconds(pid)


async def watch_healthz(base: str, result: list[float], stop: asyncio.Event) -> None:
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                async with session.get(base + "/healthz") as response:
                    await response.read()
            except aiohttp.ClientError:
                pass
            result.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)


async def measure(base: str, pid: int, make: Callable[[], Hostile], repeat: int,
                  idle_ms: float) -> tuple[Hostile, Result]:
    result = Result()
    sample = make()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for _ in range(repeat):
            hostile = make()
            await idle_cpu(pid)
            before, started = cpu_seconds(pid), time.perf_counter()
            health: list[float] = []
            stop = asyncio.Event()
            watcher = asyncio.create_task(watch_healthz(base, health, stop))
            try:
                async with session.post(base + hostile.path, data=hostile.body,
                                        headers=hostile.headers) as response:
                    await response.read()
                    result.statuses.append(response.status)
            except aiohttp.ClientError:
                result.statuses.append(0)
            after = await idle_cpu(pid)
            stop.set()
            await watcher
            elapsed = time.perf_counter() - started
            spent = (after - before) * 1000 - idle_ms * elapsed
            result.cpu_ms.append(max(spent, 0.0))
            result.healthz_max_ms = max(result.healthz_max_ms, max(health, default=0) * 1000)
    return sample, result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    repeat = min(max(args.repeat, 1), 50)
    print(f"# Hostile input ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC) on {machine()}")
    with tempfile.TemporaryDirectory(prefix="leanon-bench-hostile-") as tmp:
        workdir = Path(tmp)
        fake, api_base = await fake_slack(workdir)
        port = free_port()
        env = leanon_env(f"sqlite:///{workdir / 'leanon.db'}", port, f"{api_base}/api/",
                         LEANON_LOG_LEVEL="WARNING")
        proc = await Proc(leanon_command(), env, workdir, workdir / "leanon.log").start()
        base = f"http://127.0.0.1:{port}"
        try:
            await proc.wait_http(base + "/readyz")
            await idle_cpu(proc.pid)
            health: list[float] = []
            stop = asyncio.Event()
            watcher = asyncio.create_task(watch_healthz(base, health, stop))
            quiet_start, started = cpu_seconds(proc.pid), time.perf_counter()
            await asyncio.sleep(10)
            idle_ms = (cpu_seconds(proc.pid) - quiet_start) * 1000 / (time.perf_counter() - started)
            stop.set()
            await watcher
            print(f"  leanon with nothing to do but /healthz every 20 ms uses {idle_ms:.1f} ms "
                  "of CPU a second (subtracted below)")
            print("| request | body | statuses | server CPU ms, median | max | slowest /healthz ms |")
            print("|---|---:|---|---:|---:|---:|")
            failed = []
            for make in hostile_requests():
                sample, result = await measure(base, proc.pid, make, repeat, idle_ms)
                statuses = ", ".join(f"{s}×{result.statuses.count(s)}"
                                     for s in sorted(set(result.statuses)))
                print(f"| {sample.name} | {len(sample.body):,} B | {statuses} | "
                      f"{statistics.median(result.cpu_ms):.1f} | {max(result.cpu_ms):.1f} | "
                      f"{result.healthz_max_ms:.0f} |")
                if (statistics.median(result.cpu_ms) >= 50 or result.healthz_max_ms >= 100
                        or any(s >= 500 or s == 0 for s in result.statuses)):
                    failed.append(sample.name)
            print("  CPU is read in 10 ms ticks while the process also polls its inbox: the max"
                  " column carries that noise (the baselines' too), so the target is checked"
                  " on the median.")
            print("  target (median under 50 ms of CPU each, /healthz within 100 ms, no 5xx): "
                  + ("met" if not failed else "MISSED: " + "; ".join(failed)))
        finally:
            await proc.stop()
            await fake.stop()


if __name__ == "__main__":
    asyncio.run(main())

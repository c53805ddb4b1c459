"""The ladder's request step in real processes: two replicas at once on one database, and a
replica SIGKILLed while its requests go out, then another taking over. Each ask's step is
taken once, nobody gets more than the daily maximum, every request reaches its helper."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from bot.commands import ChangeConfig, CreateAsk, SetHelper, SetHours
from bot.domain import Actor
from bot.hours import parse_hours
from storage import SqlStore
from storage.engine import create_engine
from tests.nudges.nudge_testing import ADMIN, WS, RecordingChat, SettableClock, leanon, utc

ROOT = Path(__file__).resolve().parents[2]
HELPERS = [f"UHELP{n:02d}" for n in range(24)]
ASKS = 16  # three requests each: 48, the 24 helpers' daily maximum (2) exactly
T0 = utc(2026, 12, 8, 10, 0)


async def seed(url: str) -> None:
    clock = SettableClock(T0)
    async with leanon(url, clock, RecordingChat(clock)) as runtime:
        handle = runtime.service.handle
        assert (await handle(ChangeConfig(WS, ADMIN, "tips-after", "off"))).ok
        for helper in HELPERS:
            await handle(SetHours(WS, Actor(helper), parse_hours("00:00-23:59 daily UTC")))
            await handle(SetHelper(WS, Actor(helper), True))
        for n in range(ASKS):
            reply = await handle(CreateAsk(WS, Actor(f"UASK{n:02d}"), "C1",
                                           f"Question {n}: how do I renew the staging certificate?"))
            assert reply.ok


async def worker(url: str, out: Path, mode: str, after: timedelta) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.e2e.ladder_worker", url, str(out), (T0 + after).isoformat(),
        mode, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def finished(proc: asyncio.subprocess.Process) -> None:
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, stderr.decode()


async def stored_requests(url: str) -> list[tuple[str, int]]:
    store = SqlStore(create_engine(url))
    try:
        async with store.unit_of_work() as uow:
            return [(r.helper_id, r.ask_id) for r in await uow.requests.since(WS, T0)]
    finally:
        await store.close()


def sent(out: Path) -> Counter[tuple[str, int]]:
    return Counter((helper, int(ask)) for _, helper, ask in
                   (line.split() for line in out.read_text().splitlines()))


def check_requests(requests: list[tuple[str, int]]) -> None:
    assert len(requests) == len(set(requests)) == ASKS * 3
    assert Counter(ask for _, ask in requests) == dict.fromkeys(range(1, ASKS + 1), 3)
    assert max(Counter(helper for helper, _ in requests).values()) == 2  # the daily maximum


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'leanon.db'}"
    return str(request.getfixturevalue("postgres_url"))


async def test_two_replicas_at_once_ask_each_helper_once(url: str, tmp_path: Path) -> None:
    await seed(url)
    out = tmp_path / "requests.txt"
    procs = [await worker(url, out, "ticks", timedelta(minutes=50)) for _ in range(2)]
    for proc in procs:
        await finished(proc)
    requests = await stored_requests(url)
    check_requests(requests)
    assert sent(out) == Counter(dict.fromkeys(requests, 1))  # each once, none twice


async def test_a_replica_killed_while_requests_go_out_leaves_none_lost(url: str, tmp_path: Path) -> None:
    await seed(url)
    out = tmp_path / "requests.txt"
    out.touch()
    first = await worker(url, out, "slow", timedelta(minutes=50))
    for _ in range(1200):
        if len(out.read_text().splitlines()) >= 5:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("no requests went out within 60 s")
    first.send_signal(signal.SIGKILL)
    await first.wait()
    assert first.returncode == -signal.SIGKILL
    before = sum(sent(out).values())
    assert before < ASKS * 3, "all requests went out before the kill"
    # Another replica, later (the dead one's leases have run out): the step is not taken
    # again; what the dead one had not sent goes out.
    await finished(await worker(url, out, "ticks", timedelta(minutes=55)))
    requests = await stored_requests(url)
    check_requests(requests)
    delivered = sent(out)
    assert set(delivered) == set(requests)  # every request reached its helper
    # At most those in flight at the kill went twice (a message is sent at least once).
    assert sum(delivered.values()) - len(requests) <= 3

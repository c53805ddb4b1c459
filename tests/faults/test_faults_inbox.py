"""`leanon run` SIGKILLed right after acknowledging a flood of commands, then started again
on the same database: every acknowledged /ask gets exactly one card, every /thanks is
recorded, and its public note posted, exactly once, and every reaction is one thanks (Slack
HTTP mode, SQLite and PostgreSQL); on PostgreSQL also with two replicas draining what the
killed one left, each doing part of it.

The fake Slack keeps each channel message at once but answers it a little later, so at the
kill some cards are out in the channel while leanon has not recorded them; the restarted
leanon finds those by their nonce instead of posting them again. The dead process's leases
are moved back here instead of waiting the 30 s they last.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import SqlStore
from storage.models import AskRow, InboxItemRow, ThanksRow
from tests.e2e.replica_testing import WS, ReplicaSlack
from tests.ops.leanon_process import LeanonProcess, free_port, leanon_env
from tests.ops.slack_requests import command, event
from tests.slack.fake_slack import BOT_TOKEN
from tests.slack.slack_testing import SECRET, payload

ASKS, THANKS, REACTIONS = 300, 100, 100
MARK = "flood ask #"
GIVERS = [f"U3{n:08d}" for n in range(REACTIONS)]
AUTHORS = [f"U4{n:08d}" for n in range(REACTIONS)]
# Spread over channels as a busy workspace is: Slack takes about one message a second per
# channel, and leanon keeps that pace.
CHANNELS = [f"C21474{n:05d}" for n in range(60)]


class SlowCardSlack(ReplicaSlack):
    """Channel messages are kept at once and answered `card_delay` seconds later;
    `in_flight` counts the ask cards kept and not yet answered."""

    card_delay = 0.2
    in_flight = 0

    async def _api(self, request: web.Request) -> web.Response:
        response = await super()._api(request)
        if request.match_info["method"] == "chat.postMessage":
            card = MARK in json.dumps(await self._read(request))
            self.in_flight += card
            try:
                await asyncio.sleep(self.card_delay)
            finally:
                self.in_flight -= card
        return response


@pytest.fixture
async def fake() -> AsyncIterator[SlowCardSlack]:
    slack = SlowCardSlack()
    await slack.start()
    yield slack
    await slack.stop()


def leanon(database_url: str, fake: ReplicaSlack, cwd: Path) -> LeanonProcess:
    env = leanon_env(database_url, SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN=BOT_TOKEN,
                     SLACK_API_URL=fake.api_url, LEANON_PORT=str(free_port()),
                     LEANON_LOG_LEVEL="WARNING")
    return LeanonProcess(env, cwd)


async def query(database_url: str, work: Callable[[AsyncSession], object]) -> object:
    store = SqlStore.from_url(database_url)
    try:
        async with AsyncSession(store.engine) as session:
            result = await work(session)  # type: ignore[misc]
            await session.commit()
            return result
    finally:
        await store.close()


async def leases_run_out(session: AsyncSession) -> int:
    result = await session.execute(
        update(InboxItemRow).where(InboxItemRow.done_at.is_(None), InboxItemRow.owner.is_not(None))
        .values(lease_until=None))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def left(session: AsyncSession) -> list[tuple[object, ...]]:
    row = InboxItemRow
    found = await session.execute(
        select(row.source, row.kind, row.attempts, row.owner, row.lease_until, row.error,
               row.group_key).where(row.done_at.is_(None)).limit(5))
    return [tuple(r) for r in found.all()]


async def counts(session: AsyncSession) -> tuple[int, int, int, int]:
    asks = await session.scalar(select(func.count()).select_from(AskRow))
    carded = await session.scalar(select(func.count()).select_from(AskRow)
                                  .where(AskRow.message_id.is_not(None)))
    thanks = await session.scalar(select(func.count()).select_from(ThanksRow))
    waiting = await session.scalar(select(func.count()).select_from(InboxItemRow)
                                   .where(InboxItemRow.done_at.is_(None)))
    return int(asks or 0), int(carded or 0), int(thanks or 0), int(waiting or 0)


async def flood(session: aiohttp.ClientSession, base: str, fake: ReplicaSlack) -> list[int]:
    """400 signed commands, 20 at a time: /ask from 300 members, /thanks from 100."""
    sent = [("/ask", f"{MARK}{n}: how do I get the staging VPN working again?", f"UASK{n:05d}",
             CHANNELS[n % len(CHANNELS)]) for n in range(ASKS)]
    sent += [("/thanks", f"<@UHELP{n:05d}> for the review", f"UTHK{n:05d}",
              CHANNELS[n % len(CHANNELS)]) for n in range(THANKS)]
    sent += [("reaction", "", str(n), CHANNELS[n % len(CHANNELS)]) for n in range(REACTIONS)]
    sent.sort(key=lambda c: hash(c[2]))
    slots = asyncio.Semaphore(20)

    async def one(name: str, text: str, user: str, channel: str) -> int:
        async with slots:
            if name == "reaction":
                return await event(session, base, reaction(int(user), channel))
            return await command(session, base, fake, name, text, user=user, channel=channel)

    return list(await asyncio.gather(*(one(*c) for c in sent)))


def reaction(n: int, channel: str) -> dict[str, Any]:
    """A teammate's 🙏 on another's message: a thanks, recorded before Slack's answer."""
    body = payload("event_reaction_added")
    body["event"].update(user=GIVERS[n], item_user=AUTHORS[n], reaction="pray",
                         event_ts=f"1700002{n:03d}.000100")
    body["event"]["item"].update(channel=channel, ts=f"1700001{n:03d}.{n:06d}")
    body["event_id"] = f"Ev0FLOOD{n:05d}"
    return body


async def asks_handled(session: aiohttp.ClientSession, process: LeanonProcess) -> float:
    """How many /ask the process's core handled (its /metrics)."""
    async with session.get(f"{process.base}/metrics") as response:
        text = await response.text()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("leanon_asks_total{"))


async def killed_after_the_answers(database_url: str, fake: SlowCardSlack, cwd: Path,
                                   pause: float, replicas: int = 1) -> None:
    for user_id in GIVERS + AUTHORS:
        fake.users[user_id] = {"id": user_id, "name": user_id.lower(), "is_bot": False,
                               "profile": {"display_name": user_id.lower()}}
    runs: list[LeanonProcess] = []
    try:
        async with aiohttp.ClientSession() as session:
            runs.append(first := leanon(database_url, fake, cwd))
            await first.start()
            await first.wait_ready(session)
            statuses = await flood(session, first.base, fake)
            await asyncio.sleep(pause)
            for _ in range(1000):  # killed while a card is out at Slack and not yet recorded
                if fake.in_flight:
                    break
                await asyncio.sleep(0.005)
            first.signal(signal.SIGKILL)
            assert await first.wait() == -signal.SIGKILL
            assert statuses == [200] * (ASKS + THANKS + REACTIONS)  # all acknowledged
            _, carded, _, waiting = await query(database_url, counts)  # type: ignore[misc]
            assert waiting > 0 and carded < ASKS, "the work ended before the kill"
            out = sum(MARK in c.text() for c in fake.find("chat.postMessage"))
            assert out > carded, "no card was out unrecorded at the kill"
            await query(database_url, leases_run_out)

            # Started again: one process, or several draining the backlog together.
            drainers = [leanon(database_url, fake, cwd) for _ in range(replicas)]
            runs += drainers
            await asyncio.gather(*(p.start() for p in drainers))
            await asyncio.gather(*(p.wait_ready(session) for p in drainers))
            deadline = time.monotonic() + 120
            done = (ASKS, ASKS, THANKS + REACTIONS, 0)
            while (now := await query(database_url, counts)) != done:
                assert time.monotonic() < deadline, (
                    f"not done: {now}; left: {await query(database_url, left)}")
                await asyncio.sleep(0.2)
            handled = [await asks_handled(session, p) for p in drainers]
            assert all(n > 0 for n in handled), f"a replica did no work: {handled}"
            for process in drainers:
                assert await process.terminate() == 0
    finally:
        for process in runs:
            await process.stop()

    posted = [c for c in fake.find("chat.postMessage")
              if c.args.get("channel") in CHANNELS and not c.args.get("thread_ts")]
    cards = Counter(c.text().split(MARK)[1].split(":")[0] for c in posted if MARK in c.text())
    assert cards == {str(n): 1 for n in range(ASKS)}  # each card once: none lost, none twice
    notes = Counter(c.text().split("<@")[1].split(">")[0] for c in posted
                    if "thanked" in c.text())
    assert notes == {f"UTHK{n:05d}": 1 for n in range(THANKS)}  # each public thanks once
    async with aiohttp.ClientSession():
        rows = await query(database_url, lambda s: s.execute(
            select(AskRow.asker_id, AskRow.message_id, AskRow.platform, AskRow.workspace_id)))
        asked = list(rows)  # type: ignore[call-overload]
    assert len({a[0] for a in asked}) == ASKS and all(a[1] for a in asked)
    assert {(a[2], a[3]) for a in asked} == {(WS.platform.value, WS.workspace_id)}
    given = await query(database_url, lambda s: s.execute(select(ThanksRow.giver_id,
                                                                 ThanksRow.receiver_id)))
    pairs = Counter(tuple(g) for g in given)  # type: ignore[attr-defined]
    assert pairs == ({(f"UTHK{n:05d}", f"UHELP{n:05d}"): 1 for n in range(THANKS)}
                     | {(GIVERS[n], AUTHORS[n]): 1 for n in range(REACTIONS)})


@pytest.mark.parametrize("pause", [0.0, 0.5])
async def test_a_flood_killed_right_after_its_answers_loses_nothing_on_sqlite(
        fake: SlowCardSlack, tmp_path: Path, pause: float) -> None:
    await killed_after_the_answers(f"sqlite:///{tmp_path}/leanon.db", fake, tmp_path, pause)


@pytest.mark.postgres
async def test_a_flood_killed_right_after_its_answers_loses_nothing_on_postgresql(
        postgres_url: str, fake: SlowCardSlack, tmp_path: Path) -> None:
    await killed_after_the_answers(postgres_url, fake, tmp_path, 0.0)


@pytest.mark.postgres
async def test_two_replicas_drain_the_backlog_of_a_killed_one_each_item_once(
        postgres_url: str, fake: SlowCardSlack, tmp_path: Path) -> None:
    await killed_after_the_answers(postgres_url, fake, tmp_path, 0.0, replicas=2)

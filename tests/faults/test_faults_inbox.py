"""`leanon run` SIGKILLed right after acknowledging a flood of commands, then started again
on the same database: every acknowledged /ask gets exactly one card and every /thanks is
recorded, and its public note posted, exactly once (Slack HTTP mode, SQLite and PostgreSQL).

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

import aiohttp
import pytest
from aiohttp import web
from fake_slack import BOT_TOKEN
from leanon_process import LeanonProcess, free_port, leanon_env
from replica_testing import WS, ReplicaSlack
from slack_requests import command
from slack_testing import SECRET
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import SqlStore
from storage.models import AskRow, InboxItemRow, ThanksRow

ASKS, THANKS = 300, 100
MARK = "flood ask #"
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
    sent.sort(key=lambda c: hash(c[2]))
    slots = asyncio.Semaphore(20)

    async def one(name: str, text: str, user: str, channel: str) -> int:
        async with slots:
            return await command(session, base, fake, name, text, user=user, channel=channel)

    return list(await asyncio.gather(*(one(*c) for c in sent)))


async def killed_after_the_answers(database_url: str, fake: SlowCardSlack, cwd: Path,
                                   pause: float) -> None:
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
            assert statuses == [200] * (ASKS + THANKS)  # every command was acknowledged
            _, carded, _, waiting = await query(database_url, counts)  # type: ignore[misc]
            assert waiting > 0 and carded < ASKS, "the work ended before the kill"
            out = sum(MARK in c.text() for c in fake.find("chat.postMessage"))
            assert out > carded, "no card was out unrecorded at the kill"
            await query(database_url, leases_run_out)

            runs.append(second := leanon(database_url, fake, cwd))
            await second.start()
            await second.wait_ready(session)
            deadline = time.monotonic() + 120
            while (now := await query(database_url, counts)) != (ASKS, ASKS, THANKS, 0):
                assert time.monotonic() < deadline, f"not done: {now}"
                await asyncio.sleep(0.2)
            assert await second.terminate() == 0
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
    assert pairs == {(f"UTHK{n:05d}", f"UHELP{n:05d}"): 1 for n in range(THANKS)}


@pytest.mark.parametrize("pause", [0.0, 0.5])
async def test_a_flood_killed_right_after_its_answers_loses_nothing_on_sqlite(
        fake: SlowCardSlack, tmp_path: Path, pause: float) -> None:
    await killed_after_the_answers(f"sqlite:///{tmp_path}/leanon.db", fake, tmp_path, pause)


@pytest.mark.postgres
async def test_a_flood_killed_right_after_its_answers_loses_nothing_on_postgresql(
        postgres_url: str, fake: SlowCardSlack, tmp_path: Path) -> None:
    await killed_after_the_answers(postgres_url, fake, tmp_path, 0.0)

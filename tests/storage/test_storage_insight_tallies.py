"""The insights page's tallies, counted by the database, are the ones the in-memory store
counts row by row (`fakes.FakeInsightRepository`, on which the page's core is tested).

The same made-up months of asks, offers, thanks and suggestions go through the
repositories into both; then every tally of several windows must agree, on SQLite and on
PostgreSQL. The data is built to sit on the edges: asks and thanks exactly on a week's
start, offers exactly 24 hours late, retracted thanks, anonymous and forgotten askers,
asks of another workspace.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import (
    AskStatus,
    InsightTallies,
    InsightWindow,
    LadderStep,
    MessageRef,
    NewAnswer,
    NewAsk,
    NewThanks,
    Platform,
    SuggestionOutcome,
    ThanksSource,
    WorkspaceRef,
)
from storage import SqlStore
from tests.unit.fakes import FakeStore

WS = WorkspaceRef(Platform.SLACK, "T1")
OTHER = WorkspaceRef(Platform.SLACK, "T2")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


async def seed(units: Any, seed_number: int = 11) -> None:
    """Ten weeks of a busy little workspace (and a few asks elsewhere), through the
    repositories, the same for every store."""
    rng = random.Random(seed_number)
    start = NOW - 10 * WEEK
    async with units() as uow:
        answers = [await uow.answers.add(NewAnswer(WS, f"old question {n}", start,
                                                   note=None if n % 2 else "restart it"))
                   for n in range(6)]
        for n in range(160):
            workspace = OTHER if n % 23 == 0 else WS
            # Some asks exactly on a week's start (as the 12-week window cuts them).
            created = (NOW - WEEK * rng.randrange(1, 10) if n % 17 == 0
                       else start + timedelta(minutes=rng.randrange(10 * 7 * 24 * 60)))
            ask = await uow.asks.add(NewAsk(
                workspace=workspace, channel_id=f"C{rng.randrange(4)}",
                asker_id=f"U{rng.randrange(12)}", text=f"ask {n}", tried=None,
                anonymous=n % 7 == 0, created_at=created))
            if n % 4 == 0:  # the ladder's steps come before any offer
                await uow.asks.claim_step(ask.id, int(LadderStep.REQUEST), asked_helpers=n % 3)
            if n % 9 == 0:
                await uow.asks.claim_step(ask.id, int(LadderStep.ESCALATION))
            for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                late = rng.choice((timedelta(minutes=rng.randrange(1, 600)), timedelta(hours=24),
                                   timedelta(hours=24, seconds=1), timedelta(days=3)))
                await uow.asks.add_offer(ask.id, f"U{rng.randrange(12)}",
                                         min(created + late, NOW - timedelta(seconds=1)))
            if n % 3 == 0:
                closed = min(created + timedelta(hours=rng.randrange(1, 100)), NOW - timedelta(hours=1))
                await uow.asks.close(replace(ask, status=AskStatus.RESOLVED, closed_at=closed))
            if workspace == WS and n % 5 == 0:
                shown = created + timedelta(seconds=5)
                picked = rng.sample(answers, 2)
                await uow.answers.suggest(WS, ask.id, [(a.id, 0.9) for a in picked], shown)
                if n % 10 == 0:
                    await uow.answers.decide(WS, ask.id, picked[0].id, SuggestionOutcome.SOLVED,
                                             shown + timedelta(hours=rng.randrange(1, 30)))
        for n in range(400):
            at = (NOW - WEEK * rng.randrange(1, 10) if n % 31 == 0
                  else start + timedelta(minutes=rng.randrange(10 * 7 * 24 * 60)))
            channel = f"C{rng.randrange(5)}"
            if n % 11 == 0:  # a /thanks: a channel and no message, or neither
                await uow.thanks.add(NewThanks(
                    workspace=WS, giver_id=f"U{rng.randrange(12)}",
                    receiver_id=f"U{rng.randrange(12)}", source=ThanksSource.COMMAND,
                    created_at=at, channel_id=None if n % 2 else channel))
                continue
            await uow.thanks.add(NewThanks(
                workspace=OTHER if n % 29 == 0 else WS, giver_id=f"U{rng.randrange(12)}",
                receiver_id=f"U{rng.randrange(12)}", source=ThanksSource.REACTION, created_at=at,
                message=MessageRef(channel, f"{n}.1"), emoji="pray", dedupe_key=f"r:{n}"))
        await uow.commit()
    async with units() as uow:
        for n in range(0, 400, 13):
            await uow.thanks.retract(WS, f"r:{n}", NOW)
        await uow.asks.forget_asker(WS, "U3", delete=False)  # kept, anonymous
        await uow.asks.forget_asker(WS, "U5", delete=True)
        await uow.commit()


def comparable(t: InsightTallies) -> dict[str, Any]:
    return {
        "asks": sorted(t.asks, key=lambda a: (a.week, a.channel_id)),
        "resolved": t.resolved, "thanks": t.thanks,
        "first_offer_seconds": {key: sorted(round(s, 3) for s in waits)
                                for key, waits in t.first_offer_seconds.items()},
        "offers": t.offers, "askers": t.askers, "first_asked": t.first_asked,
        "from_memory": t.from_memory, "unnoted_suggestions": t.unnoted_suggestions,
    }


async def test_the_database_counts_what_the_page_counts_row_by_row(store: SqlStore) -> None:
    memory = FakeStore()
    await seed(memory.uow)
    await seed(store.unit_of_work)
    windows = [InsightWindow(NOW, 12), InsightWindow(NOW, 4), InsightWindow(NOW, 52),
               InsightWindow(NOW - timedelta(days=3, hours=5), 4)]
    for window in windows:
        async with memory.uow() as uow:
            expected = comparable(await uow.insights.tallies(WS, window))
        async with store.unit_of_work() as uow:
            counted = comparable(await uow.insights.tallies(WS, window))
        assert counted == expected, window
    async with memory.uow() as uow:
        expected = comparable(await uow.insights.tallies(WS, windows[0]))
    # The data reached every kind of tally (the comparison above is not of empty ones).
    assert all(expected[name] for name in expected), {k: bool(v) for k, v in expected.items()}
    tallied = sum(a.opened for a in expected["asks"])
    assert tallied > 50 and sum(a.late for a in expected["asks"]) > 0
    assert sum(a.escalated for a in expected["asks"]) > 0
    assert sum(a.offered_after_request for a in expected["asks"]) > 0
    # Thanks with no channel, and in a channel with no asks, are counted too.
    assert {None, "C4"} <= {channel for _, channel in expected["thanks"]}


async def test_an_offer_keeps_the_asks_first_offer_and_forget_me_moves_it(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        ask = await uow.asks.add(NewAsk(WS, "C1", "U1", "?", None, False, NOW - WEEK))
        await uow.asks.add_offer(ask.id, "U2", NOW - WEEK + timedelta(hours=2))
        await uow.asks.add_offer(ask.id, "U3", NOW - WEEK + timedelta(hours=1))  # earlier
        await uow.asks.add_offer(ask.id, "U4", NOW - WEEK + timedelta(hours=3))
        await uow.commit()
    window = InsightWindow(NOW, 4)

    async def first_wait() -> list[float]:
        async with store.unit_of_work() as uow:
            waits = (await uow.insights.tallies(WS, window)).first_offer_seconds
            return [s for each in waits.values() for s in each]

    assert await first_wait() == [3600.0]
    async with store.unit_of_work() as uow:
        await uow.asks.forget_asker(WS, "U3", delete=False)
        await uow.commit()
    assert await first_wait() == [7200.0]
    async with store.unit_of_work() as uow:
        for helper in ("U2", "U4"):
            await uow.asks.forget_asker(WS, helper, delete=False)
        await uow.commit()
    assert await first_wait() == []

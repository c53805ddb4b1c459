"""A channel's weekly numbers (SqlStatsRepository.channel_week and .thanked) on both databases.

One seeded week with known answers. The window is [SINCE, UNTIL) in channel C-help of
WORKSPACE; everything else — before, at the end, in another channel, in another
workspace, retracted — is there to be left out.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from bot.domain import Ask, AskStatus, CloseReason, WeeklyNumbers, WorkspaceRef
from storage import SqlStore, SqlUnitOfWork
from tests.storage.storage_testing import (
    OTHER_WORKSPACE,
    T0,
    WORKSPACE,
    command_thanks,
    minutes,
    new_ask,
    reaction,
    reaction_key,
)

UNTIL = T0
SINCE = T0 - timedelta(days=7)
HELP = "C-help"


def day(n: float) -> timedelta:
    return timedelta(days=n)


async def _ask(
    uow: SqlUnitOfWork,
    asker: str,
    at: datetime,
    channel: str = HELP,
    *,
    anonymous: bool = False,
    workspace: WorkspaceRef = WORKSPACE,
) -> Ask:
    return await uow.asks.add(
        new_ask(asker, at=at, channel_id=channel, anonymous=anonymous, workspace=workspace)
    )


async def _resolve(uow: SqlUnitOfWork, ask: Ask, at: datetime) -> None:
    assert await uow.asks.close(dataclasses.replace(ask, status=AskStatus.RESOLVED, closed_at=at))


async def _seed(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        # An old asker: asked before the window; that ask is resolved (and helped) in it.
        older = await _ask(uow, "U-old", SINCE - day(3))
        await uow.asks.add_offer(older.id, "U-early", SINCE - day(2))  # an offer before the window
        await uow.asks.add_offer(older.id, "U-h1", SINCE + minutes(120))
        await _resolve(uow, older, SINCE + minutes(60))
        # ... asks again in the window: opened, resolved, first offer after 30 minutes.
        again = await _ask(uow, "U-old", SINCE + day(1))
        await uow.asks.add_offer(again.id, "U-h2", SINCE + day(1) + minutes(30))
        await _resolve(uow, again, SINCE + day(1) + minutes(120))
        # A first-time asker, twice in the window (counted once): first offers after 5 and 60 minutes.
        first = await _ask(uow, "U-new", SINCE + day(2))
        await uow.asks.add_offer(first.id, "U-h1", SINCE + day(2) + minutes(10))
        await uow.asks.add_offer(first.id, "U-h3", SINCE + day(2) + minutes(5))
        await _resolve(uow, first, UNTIL + minutes(60))  # resolved after the window
        second = await _ask(uow, "U-new", SINCE + day(3))
        await uow.asks.add_offer(second.id, "U-h2", SINCE + day(3) + minutes(60))
        closed = await _ask(uow, "U-new", SINCE + day(3) + minutes(1))
        withdrawn = dataclasses.replace(
            closed, status=AskStatus.CLOSED, closed_at=SINCE + day(4), close_reason=CloseReason.WITHDRAWN
        )
        assert await uow.asks.close(withdrawn)  # withdrawn: not resolved
        # First asked elsewhere in the workspace, then here: not a first-time asker here.
        await _ask(uow, "U-moved", SINCE + day(1), channel="C-ops")
        await _ask(uow, "U-moved", SINCE + day(2))
        # Two asks at the same instant: the first made (in C-ops) is the first ask.
        await _ask(uow, "U-twin", SINCE + day(2), channel="C-ops")
        await _ask(uow, "U-twin", SINCE + day(2))
        # An anonymous first ask: counted, never named. Its only offer comes after the window.
        anonymous = await _ask(uow, "U-anon", SINCE + day(4), anonymous=True)
        await uow.asks.add_offer(anonymous.id, "U-too-late", UNTIL + minutes(1))
        # At the window's start: in. First offer after 20 minutes.
        edge = await _ask(uow, "U-edge", SINCE)
        await uow.asks.add_offer(edge.id, "U-h5", SINCE + minutes(20))
        # At the window's end: out, and not a first-time asker either.
        await _ask(uow, "U-late", UNTIL)
        # Another channel's and another workspace's asks and offers.
        ops = await _ask(uow, "U-ops", SINCE + day(1), channel="C-ops")
        await uow.asks.add_offer(ops.id, "U-ops-helper", SINCE + day(1) + minutes(1))
        await _resolve(uow, ops, SINCE + day(2))
        far = await _ask(uow, "U-far", SINCE + day(1), workspace=OTHER_WORKSPACE)
        await uow.asks.add_offer(far.id, "U-far-helper", SINCE + day(1) + minutes(1))
        await _resolve(uow, far, SINCE + day(2))

        # Thanks: by reaction on a message in the channel, or by command in it.
        await uow.thanks.add(command_thanks("U-x", "U-h4", at=SINCE, channel_id=HELP))  # at the start: in
        await uow.thanks.add(reaction("U-old", "U-h2", at=SINCE + day(1) + minutes(180), channel_id=HELP))
        await uow.thanks.add(
            command_thanks("U-new", "U-h3", at=SINCE + day(2) + minutes(60), channel_id=HELP)
        )
        await uow.thanks.add(command_thanks("U-y", "U-h2", at=SINCE + day(5), channel_id=HELP))  # again
        await uow.thanks.add(reaction("U-z", "U-retracted", at=SINCE + day(5), channel_id=HELP))
        await uow.thanks.retract(WORKSPACE, reaction_key("U-z", channel_id=HELP), SINCE + day(5) + minutes(1))
        await uow.thanks.add(command_thanks("U-x", "U-before", at=SINCE - minutes(1), channel_id=HELP))
        await uow.thanks.add(command_thanks("U-x", "U-at-end", at=UNTIL, channel_id=HELP))
        await uow.thanks.add(command_thanks("U-x", "U-ops-thanked", at=SINCE + day(1), channel_id="C-ops"))
        await uow.thanks.add(reaction("U-x", "U-ops-reacted", at=SINCE + day(1), channel_id="C-ops"))
        await uow.thanks.add(command_thanks("U-x", "U-nowhere", at=SINCE + day(1)))  # no channel
        await uow.thanks.add(
            command_thanks("U-x", "U-far", at=SINCE + day(1), channel_id=HELP, workspace=OTHER_WORKSPACE)
        )
        await uow.commit()


async def test_a_quiet_channel_has_zeros(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        assert await uow.stats.channel_week(WORKSPACE, HELP, SINCE, UNTIL) == WeeklyNumbers()
        assert await uow.stats.thanked(WORKSPACE, HELP, SINCE, UNTIL) == []


async def test_the_channels_week(store: SqlStore) -> None:
    await _seed(store)
    async with store.unit_of_work() as uow:
        numbers = await uow.stats.channel_week(WORKSPACE, HELP, SINCE, UNTIL)

    assert numbers == WeeklyNumbers(
        # again, first, second, closed, U-moved's, U-twin's, anonymous, edge
        asks_opened=8,
        # older (opened before the window) and again; not first (after), not closed (withdrawn)
        asks_resolved=2,
        # first offers after 5, 20, 30 and 60 minutes (the anonymous ask's came too late)
        median_first_offer=minutes(25),
        # U-h4, U-h2 twice, U-h3; not retracted, before, at the end, elsewhere
        thanks_given=4,
        # offered: U-h1, U-h2, U-h3, U-h5; thanked: U-h2, U-h3, U-h4
        helpers=5,
        # U-new, U-anon, U-edge
        first_time_askers=3,
    )


async def test_who_was_thanked_first_thanked_first(store: SqlStore) -> None:
    await _seed(store)
    async with store.unit_of_work() as uow:
        assert await uow.stats.thanked(WORKSPACE, HELP, SINCE, UNTIL) == ["U-h4", "U-h2", "U-h3"]
        # Thanked at the same moment: by user id.
        assert await uow.stats.thanked(WORKSPACE, "C-ops", SINCE, UNTIL) == ["U-ops-reacted", "U-ops-thanked"]
        assert await uow.stats.thanked(OTHER_WORKSPACE, HELP, SINCE, UNTIL) == ["U-far"]
        # Another window: only the thanks at its end.
        assert await uow.stats.thanked(WORKSPACE, HELP, UNTIL, UNTIL + minutes(1)) == ["U-at-end"]


async def test_other_channels_and_workspaces_have_their_own_numbers(store: SqlStore) -> None:
    await _seed(store)
    async with store.unit_of_work() as uow:
        ops = await uow.stats.channel_week(WORKSPACE, "C-ops", SINCE, UNTIL)
        far = await uow.stats.channel_week(OTHER_WORKSPACE, HELP, SINCE, UNTIL)

    assert ops == WeeklyNumbers(
        asks_opened=3,  # U-moved, U-twin, U-ops
        asks_resolved=1,
        median_first_offer=minutes(1),
        thanks_given=2,
        helpers=3,  # U-ops-helper, U-ops-thanked, U-ops-reacted
        first_time_askers=3,  # U-moved and U-twin started here, and U-ops
    )
    assert far == WeeklyNumbers(
        asks_opened=1,
        asks_resolved=1,
        median_first_offer=minutes(1),
        thanks_given=1,
        helpers=2,
        first_time_askers=1,
    )


@pytest.mark.parametrize(
    ("delays", "median"),
    [([7], 7), ([1, 100, 4], 4), ([10, 1, 4, 100], 7), ([3, 3], 3)],
)
async def test_the_median_of_odd_and_even_counts(store: SqlStore, delays: list[int], median: float) -> None:
    async with store.unit_of_work() as uow:
        for n, delay in enumerate(delays):
            ask = await _ask(uow, f"U-{n}", SINCE + day(1))
            await uow.asks.add_offer(ask.id, "U-helper", SINCE + day(1) + minutes(delay))
            await uow.asks.add_offer(ask.id, "U-slower", SINCE + day(1) + minutes(delay + 1))
        numbers = await uow.stats.channel_week(WORKSPACE, HELP, SINCE, UNTIL)
    assert numbers.median_first_offer == minutes(median)
    assert numbers.asks_opened == len(delays)


async def test_a_forgotten_asker_is_not_a_first_time_asker(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        await _ask(uow, "U-leaving", SINCE + day(1))
        await uow.asks.forget_asker(WORKSPACE, "U-leaving", delete=False)
        numbers = await uow.stats.channel_week(WORKSPACE, HELP, SINCE, UNTIL)
    assert (numbers.asks_opened, numbers.first_time_askers) == (1, 0)

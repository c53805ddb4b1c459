"""SqlStatsRepository on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

from bot.domain import AskStatus, LeaderboardEntry, MemberStats
from storage import SqlStore
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

WEEK = minutes(60 * 24 * 7)


async def test_a_member_with_no_history_has_zeros(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        assert await uow.stats.member_stats(WORKSPACE, "U-new", T0) == MemberStats()


async def test_member_stats(store: SqlStore) -> None:
    me = "U-me"
    async with store.unit_of_work() as uow:
        mine = await uow.asks.add(new_ask(me, at=T0 - WEEK))
        await uow.asks.close(dataclasses.replace(mine, status=AskStatus.RESOLVED, closed_at=T0))
        withdrawn = await uow.asks.add(new_ask(me))
        await uow.asks.close(dataclasses.replace(withdrawn, status=AskStatus.CLOSED, closed_at=T0))
        await uow.asks.add(new_ask(me))
        await uow.asks.add(new_ask(me, workspace=OTHER_WORKSPACE))
        theirs = await uow.asks.add(new_ask("U-them"))
        await uow.asks.add_offer(theirs.id, me, T0)
        await uow.asks.add_offer(mine.id, "U-them", T0)
        foreign = await uow.asks.add(new_ask("U-them", workspace=OTHER_WORKSPACE))
        await uow.asks.add_offer(foreign.id, me, T0)

        await uow.thanks.add(command_thanks("U-a", me, at=T0 - WEEK))  # before this week
        await uow.thanks.add(command_thanks("U-b", me, at=T0 + minutes(1)))
        await uow.thanks.add(reaction("U-c", me, at=T0 + minutes(2)))
        await uow.thanks.retract(WORKSPACE, reaction_key("U-c"), T0 + minutes(3))
        await uow.thanks.add(command_thanks(me, "U-a"))
        await uow.thanks.add(command_thanks("U-x", me, workspace=OTHER_WORKSPACE))

        stats = await uow.stats.member_stats(WORKSPACE, me, week_ago=T0)

    assert stats == MemberStats(
        asks_opened=3,
        asks_resolved=1,
        help_offers=1,
        thanks_received=2,
        thanks_given=1,
        thanks_received_week=1,
    )


async def test_leaderboard(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        for giver in ("U-1", "U-2", "U-3"):
            await uow.thanks.add(command_thanks(giver, "U-carol"))
        for giver in ("U-1", "U-2"):
            await uow.thanks.add(command_thanks(giver, "U-bob"))
            await uow.thanks.add(command_thanks(giver, "U-alice"))
        await uow.thanks.add(command_thanks("U-1", "U-dave"))
        await uow.thanks.add(reaction("U-1", "U-erin"))
        await uow.thanks.retract(WORKSPACE, reaction_key("U-1"), T0)
        for giver in ("U-1", "U-2", "U-3", "U-4"):
            await uow.thanks.add(command_thanks(giver, "U-old", at=T0 - WEEK))
        await uow.thanks.add(command_thanks("U-1", "U-faraway", workspace=OTHER_WORKSPACE))

        board = await uow.stats.leaderboard(WORKSPACE, since=T0 - minutes(1), exclude=set())
        assert board == [
            LeaderboardEntry("U-carol", 3),
            LeaderboardEntry("U-alice", 2),
            LeaderboardEntry("U-bob", 2),
            LeaderboardEntry("U-dave", 1),
        ]
        shorter = await uow.stats.leaderboard(WORKSPACE, T0 - minutes(1), {"U-carol"}, limit=2)
        assert shorter == [LeaderboardEntry("U-alice", 2), LeaderboardEntry("U-bob", 2)]
        assert await uow.stats.leaderboard(OTHER_WORKSPACE, T0 - minutes(1), {"U-faraway"}) == []

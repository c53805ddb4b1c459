"""A member's own numbers, the opt-in leaderboard, and being named or not."""

from __future__ import annotations

from datetime import timedelta

from bot.commands import (
    Person,
    ReactionAdded,
    ReactionRemoved,
    ResolveAsk,
    SetNamed,
    ShowLeaderboard,
    ShowStats,
    ThankMembers,
)
from bot.domain import MessageRef, Settings
from bot.messages import MessageKind
from tests.unit.fakes import (
    ASKER,
    HELPER,
    HELPER2,
    OTHER,
    WS,
    World,
    member,
    mentions,
    offer,
    open_ask,
    reply_text,
)

_events = iter(range(10_000))


async def thank(world: World, giver: str, receiver: str) -> None:
    reply = await world.handle(ThankMembers(WS, member(giver), "C1", (Person(receiver),), "help",
                                            f"ev-{next(_events)}"))
    assert reply.ok


async def test_stats_show_the_members_own_numbers(world: World) -> None:
    resolved = await open_ask(world)
    await open_ask(world, text="Where do the grafana dashboards for billing live?")
    await world.handle(ResolveAsk(WS, member(ASKER), resolved.id))
    others = await open_ask(world, asker=OTHER, text="How do I get access to the prod logs?")
    await offer(world, others, ASKER)
    await thank(world, HELPER, ASKER)
    world.clock.advance(timedelta(days=8))
    await thank(world, HELPER2, ASKER)
    await thank(world, ASKER, HELPER)

    reply = await world.handle(ShowStats(WS, member(ASKER)))

    [message] = reply.private
    assert message.kind is MessageKind.LIST
    assert message.plain_text().splitlines()[1:] == [
        "Asks opened: 2 (1 resolved)",
        "Help offered: 1 time",
        "Thanks received: 2 (1 in the last 7 days)",
        "Thanks given: 1",
    ]


async def test_stats_do_not_count_retracted_thanks(world: World) -> None:
    msg = MessageRef("C1", "1.1")
    await world.handle(ReactionAdded(WS, member(OTHER), Person(ASKER), msg, "pray"))
    await world.handle(ReactionRemoved(WS, member(OTHER), Person(ASKER), msg, "pray"))
    assert "Thanks received: 0 (0 in the last 7 days)" in reply_text(
        await world.handle(ShowStats(WS, member(ASKER))))
    assert "Thanks given: 0" in reply_text(await world.handle(ShowStats(WS, member(OTHER))))


async def test_leaderboard_is_off_by_default(world: World) -> None:
    await thank(world, HELPER, ASKER)
    reply = await world.handle(ShowLeaderboard(WS, member(OTHER)))
    assert "leaderboard is off" in reply_text(reply)
    assert "config set leaderboard on" in reply_text(reply)
    assert mentions(reply.private[0]) == []


async def test_leaderboard_ranks_members_by_active_thanks_received(world: World) -> None:
    world.store.put_settings(Settings(leaderboard=True))
    for giver in (ASKER, OTHER, HELPER2):
        await thank(world, giver, HELPER)
    for giver in (ASKER, OTHER):
        await thank(world, giver, HELPER2)
    await thank(world, HELPER, OTHER)
    msg = MessageRef("C1", "2.2")
    await world.handle(ReactionAdded(WS, member(HELPER), Person(OTHER), msg, "pray"))
    await world.handle(ReactionRemoved(WS, member(HELPER), Person(OTHER), msg, "pray"))

    reply = await world.handle(ShowLeaderboard(WS, member(OTHER)))

    [board] = reply.private
    assert board.plain_text().splitlines()[1:] == [
        "1. @U_HELPER: 3 thanks",
        "2. @U_HELPER_TWO: 2 thanks",
        "3. @U_OTHER: 1 thanks",
    ]


async def test_leaderboard_leaves_out_members_who_opted_out(world: World) -> None:
    world.store.put_settings(Settings(leaderboard=True))
    await thank(world, ASKER, HELPER)
    await thank(world, ASKER, HELPER2)
    reply = await world.handle(SetNamed(WS, member(HELPER), named=False))
    assert "won't be named" in reply_text(reply)

    board = await world.handle(ShowLeaderboard(WS, member(OTHER)))
    assert mentions(board.private[0]) == [HELPER2]

    await world.handle(SetNamed(WS, member(HELPER), named=True))
    board = await world.handle(ShowLeaderboard(WS, member(OTHER)))
    assert mentions(board.private[0]) == [HELPER, HELPER2]  # a tie goes by id


async def test_leaderboard_counts_the_last_30_days(world: World) -> None:
    world.store.put_settings(Settings(leaderboard=True))
    await thank(world, ASKER, HELPER)
    world.clock.advance(timedelta(days=31))
    reply = await world.handle(ShowLeaderboard(WS, member(OTHER)))
    assert "No thanks in the last 30 days" in reply_text(reply)

"""The escalation ladder's first step: an ask with no offer gets its asker tips, once, at
`tips-after`; never after an offer, a resolve or a withdrawal, never twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.commands import ChangeConfig, ResolveAsk, RunAskMaintenance
from bot.domain import LadderStep
from bot.ladder import tips_for
from bot.messages import MessageKind
from tests.unit.fakes import (
    ADMIN,
    ASKER,
    HELPER,
    WS,
    World,
    make_world,
    member,
    offer,
    open_ask,
    text_of,
)


async def maintain(world: World, after: timedelta) -> None:
    world.clock.advance(after)
    await world.handle(RunAskMaintenance())


def tips(world: World) -> list[str]:
    return [text_of(m) for m in world.chat.told_to(ASKER) if m.title == "Tips for your ask"]


async def test_an_ask_with_no_offer_gets_its_asker_tips_once_at_15_minutes(world: World) -> None:
    ask = await open_ask(world, text="deploy broken", tried=None)
    await maintain(world, timedelta(minutes=14))
    assert tips(world) == []
    await maintain(world, timedelta(minutes=2))
    await maintain(world, timedelta(minutes=30))
    [tip] = tips(world)
    assert "Your ask has waited 16m without an offer: deploy broken" in tip
    assert "a short ask leaves helpers guessing" in tip
    assert "Say what you have tried already" in tip
    assert "Paste the exact error message" in tip
    assert world.chat.told[-1].message.kind is MessageKind.TIP
    assert world.store.ask(ask.id).ladder_step == LadderStep.TIPS
    assert world.chat.replies == []  # private: nothing in the thread


async def test_tips_are_written_for_what_the_ask_lacks() -> None:
    world = make_world()
    ask = await open_ask(world, text="The nightly export job fails with \"permission denied for "
                                     "schema reporting\" since the upgrade to 15.4; what changed?",
                         tried="re-ran it as the admin user")
    tip = text_of(tips_for(ask, "15m"))
    assert "short ask" not in tip and "tried" not in tip and "exact error" not in tip
    assert "Add what you found since you asked" in tip


async def test_no_tips_after_an_offer_a_resolve_or_when_turned_off(world: World) -> None:
    offered = await open_ask(world)
    await offer(world, offered, HELPER)
    resolved = await open_ask(world)
    await world.handle(ResolveAsk(WS, member(ASKER), resolved.id))
    await maintain(world, timedelta(minutes=20))
    assert tips(world) == []
    assert world.store.ask(offered.id).ladder_step == LadderStep.NONE

    reply = await world.handle(ChangeConfig(WS, member(ADMIN, admin=True), "tips-after", "off"))
    assert "tips-after is now off" in text_of(reply.private[0])
    await open_ask(world)
    await maintain(world, timedelta(hours=1))
    assert tips(world) == []


async def test_the_setting_moves_the_tips(world: World) -> None:
    reply = await world.handle(ChangeConfig(WS, member(ADMIN, admin=True), "tips-after", "45m"))
    assert "tips-after is now 45m" in text_of(reply.private[0])
    refused = await world.handle(ChangeConfig(WS, member(ADMIN, admin=True), "tips-after", "2m"))
    assert "from 5m to 1d" in text_of(refused.private[0]) and "Or off." in text_of(refused.private[0])
    await open_ask(world)
    await maintain(world, timedelta(minutes=30))
    assert tips(world) == []
    await maintain(world, timedelta(minutes=16))
    assert len(tips(world)) == 1


async def test_two_maintenance_runs_at_once_send_the_tips_once(world: World) -> None:
    for _ in range(3):
        await open_ask(world)
    world.clock.advance(timedelta(minutes=16))
    await asyncio.gather(world.handle(RunAskMaintenance()), world.handle(RunAskMaintenance()))
    assert len(tips(world)) == 3

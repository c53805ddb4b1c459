"""The escalation ladder's first step: an ask with no offer gets its asker tips, once, at
`tips-after`; never after an offer, a resolve or a withdrawal, never twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.commands import ChangeConfig, ResolveAsk, RunAskMaintenance, WithdrawAsk
from bot.domain import Ask, AskStatus, CloseReason, Helper, HelpRecord, LadderStep
from bot.hours import WORKDAYS, WorkingHours
from bot.ladder import likely_helpers, tips_for
from bot.messages import MessageKind
from bot.parsing import ParseError, parse_leanon
from tests.unit.fakes import (
    ADMIN,
    ASKER,
    HELPER,
    WS,
    World,
    card,
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


# -- likely helpers: whom the request step asks ----------------------------------------------

BERLIN_DAYS = WorkingHours(time(9), time(17), WORKDAYS, "Europe/Berlin")
NEW_YORK_DAYS = WorkingHours(time(9), time(17), WORKDAYS, "America/New_York")
TUESDAY_NOON_BERLIN = datetime(2026, 12, 8, 11, 0, tzinfo=UTC)  # 12:00 in Berlin, 06:00 in New York


def waiting(text: str = "kubernetes pod stuck in CrashLoopBackOff after the deploy, why?",
            asker: str = ASKER) -> Ask:
    return Ask(1, WS, "C1", asker, text, None, False, AskStatus.OPEN, TUESDAY_NOON_BERLIN)


def picked(helpers: list[Helper], records: dict[str, HelpRecord] | None = None,
           today: dict[str, int] | None = None, ask: Ask | None = None) -> list[tuple[str, str]]:
    picks = likely_helpers(ask or waiting(), helpers, records or {}, today or {}, 2,
                           TUESDAY_NOON_BERLIN)
    return [(p.helper.user_id, p.reason) for p in picks]


def test_helpers_are_ranked_by_similar_help_then_topics_then_recent_help() -> None:
    helpers = [Helper("U-any", True, (), BERLIN_DAYS),
               Helper("U-k8s", True, ("terraform", "kubernetes"), BERLIN_DAYS),
               Helper("U-vet", True, ("payroll",), BERLIN_DAYS),
               Helper("U-new", True, (), BERLIN_DAYS)]
    records = {"U-vet": HelpRecord(2, TUESDAY_NOON_BERLIN - timedelta(days=3)),
               "U-new": HelpRecord(0, TUESDAY_NOON_BERLIN - timedelta(days=1))}
    assert picked(helpers, records) == [
        ("U-vet", "you helped with 2 similar asks"),
        ("U-k8s", "it is about kubernetes, one of your topics"),
        ("U-new", "you offered to help with any topic"),
    ]


def test_nobody_is_picked_who_did_not_opt_in_is_off_hours_at_the_limit_or_the_asker() -> None:
    helpers = [Helper("U-off", False, (), BERLIN_DAYS),
               Helper("U-nohours", True, ()),
               Helper("U-asleep", True, (), NEW_YORK_DAYS),
               Helper("U-busy", True, (), BERLIN_DAYS),
               Helper(ASKER, True, (), BERLIN_DAYS),
               Helper("U-payroll", True, ("payroll",), BERLIN_DAYS),  # not their topic
               Helper("U-ok", True, (), BERLIN_DAYS)]
    assert picked(helpers, today={"U-busy": 2}) == [("U-ok", "you offered to help with any topic")]
    # Four hours later New York is at work, and Berlin still is
    later = likely_helpers(waiting(), helpers, {}, {"U-busy": 2}, 2,
                           TUESDAY_NOON_BERLIN + timedelta(hours=4))
    assert [p.helper.user_id for p in later] == ["U-asleep", "U-ok"]


def test_a_topic_counts_as_a_whole_word_and_fewer_requests_today_break_ties() -> None:
    helpers = [Helper("U-a", True, ("go",), BERLIN_DAYS), Helper("U-b", True, ("node.js",), BERLIN_DAYS),
               Helper("U-c", True, ("node.js",), BERLIN_DAYS)]
    ask = waiting("our node.js service won't go up after the deploy, ideas?")
    assert [u for u, _ in picked(helpers, ask=ask, today={"U-b": 1})] == ["U-a", "U-c", "U-b"]
    assert picked(helpers, ask=waiting("a google sheet question")) == []


# -- withdrawing an ask stops its ladder -------------------------------------------------------


async def test_the_asker_withdraws_an_open_ask_and_its_ladder_stops(world: World) -> None:
    ask = await open_ask(world)
    refused = await world.handle(WithdrawAsk(WS, member(HELPER), ask.id))
    assert "Only the person who asked (or a workspace admin) can withdraw" in text_of(refused.private[0])
    assert world.store.ask(ask.id).is_open

    reply = await world.handle(parse_leanon(f"withdraw #{ask.id}", WS, member(ASKER), "C1"))
    assert f"Withdrawn: ask #{ask.id}" in text_of(reply.private[0])
    stored = world.store.ask(ask.id)
    assert stored.status is AskStatus.CLOSED and stored.close_reason is CloseReason.WITHDRAWN
    shown = world.chat.updates_of(card(ask))[-1]
    assert "Closed (withdrawn)." in text_of(shown) and shown.buttons == ()
    await maintain(world, timedelta(hours=3))
    assert tips(world) == [] and world.chat.replies == []  # no tips, no follow-up

    again = await world.handle(WithdrawAsk(WS, member(ASKER), ask.id))
    assert "is withdrawn already; nothing was changed" in text_of(again.private[0])


async def test_an_admin_may_withdraw_and_a_resolved_ask_stays_resolved(world: World) -> None:
    ask = await open_ask(world)
    await world.handle(WithdrawAsk(WS, member(ADMIN, admin=True), ask.id))
    assert world.store.ask(ask.id).close_reason is CloseReason.WITHDRAWN
    resolved = await open_ask(world)
    await world.handle(ResolveAsk(WS, member(ASKER), resolved.id))
    reply = await world.handle(WithdrawAsk(WS, member(ASKER), resolved.id))
    assert "is resolved already" in text_of(reply.private[0])
    assert world.store.ask(resolved.id).status is AskStatus.RESOLVED
    gone = await world.handle(WithdrawAsk(WS, member(ASKER), 999))
    assert gone.private[0].kind is MessageKind.ERROR


def test_withdraw_needs_an_ask_number() -> None:
    for text in ("withdraw", "withdraw twelve", "withdraw 1 2", "withdraw ١٢", "withdraw 9999999999"):
        with pytest.raises(ParseError, match="Use /leanon withdraw <ask number>"):
            parse_leanon(text, WS, member(ASKER), "C1")

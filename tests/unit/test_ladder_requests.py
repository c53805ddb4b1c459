"""The escalation ladder's later steps, with a movable clock: requests to likely helpers
after 45 minutes of their own working time, and the escalation post after 4 hours of the
team's; each once, never outside working hours or above the daily maximum, never after an
offer, and never naming an anonymous asker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from unittest.mock import AsyncMock
from zoneinfo import ZoneInfo

import pytest

from bot.buttons import pressed
from bot.commands import ChangeConfig, OfferHelp, RunAskMaintenance
from bot.domain import Helper, LadderStep, RequestAnswer
from bot.errors import StorageError
from bot.hours import EVERY_DAY, WORKDAYS, WorkingHours, working_time_of_any
from bot.messages import ActionId, Message, MessageKind
from bot.parsing import parse_leanon
from tests.unit.fakes import (
    ADMIN,
    ASKER,
    WS,
    FakeHelpRequestRepository,
    FixedClock,
    World,
    card,
    make_world,
    member,
    open_ask,
    text_of,
)
from tests.unit.test_memory import Search

BERLIN = WorkingHours(time(9), time(17), WORKDAYS, "Europe/Berlin")
TUESDAY_10_BERLIN = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)  # the scheduler runs ask maintenance every 5 minutes


def world_at(now: datetime) -> World:
    return make_world(clock=FixedClock(now))


def add_helper(world: World, user_id: str, hours: WorkingHours | None = BERLIN,
               topics: tuple[str, ...] = (), active: bool = True) -> None:
    world.store.data.helpers.setdefault(WS, {})[user_id] = Helper(user_id, active, topics, hours)


async def run_until(world: World, until: datetime) -> None:
    """Ask maintenance every 5 minutes until `until`."""
    while world.clock.now() + STEP <= until:
        world.clock.advance(STEP)
        await world.handle(RunAskMaintenance())


def requests_to(world: World, user_id: str) -> list[Message]:
    return [m for m in world.chat.told_to(user_id) if m.kind is MessageKind.HELP_REQUEST]


def all_requests(world: World) -> list[tuple[str, Message]]:
    return [(t.user_id, t.message) for t in world.chat.told if t.message.kind is MessageKind.HELP_REQUEST]


async def press(world: World, user_id: str, message: Message, action: ActionId) -> str:
    [button] = [b for b in message.buttons if b.action is action]
    found = pressed(WS.platform, button.action.value, button.value)
    assert found is not None
    reply = await world.handle(found.command(WS, member(user_id)))
    return text_of(reply.private[0])


async def test_up_to_three_likely_helpers_are_asked_after_45_working_minutes_once() -> None:
    world = world_at(TUESDAY_10_BERLIN)
    for name in ("U1", "U2", "U3", "U4"):
        add_helper(world, name)
    ask = await open_ask(world, text="How do I get the staging VPN to stay up during long "
                                     "deploys?")
    await run_until(world, TUESDAY_10_BERLIN + timedelta(minutes=40))
    assert all_requests(world) == []
    await run_until(world, TUESDAY_10_BERLIN + timedelta(minutes=50))
    asked = all_requests(world)
    assert sorted(u for u, _ in asked) == ["U1", "U2", "U3"]  # the fourth is spared
    request = asked[0][1]
    shown = text_of(request)
    assert "staging VPN" in shown and "you offered to help with any topic" in shown
    assert [b.action for b in request.buttons] == [
        ActionId.REQUEST_OFFER, ActionId.REQUEST_NOT_NOW, ActionId.REQUEST_STOP]
    stored = world.store.ask(ask.id)
    assert stored.ladder_step == LadderStep.REQUEST and stored.asked_helpers == 3
    shown_card = text_of(world.chat.updates_of(card(ask))[-1])
    assert "3 teammates were asked to look" in shown_card
    assert not any(name in shown_card for name in ("U1", "U2", "U3"))  # never who
    assert {r.helper_id for r in world.store.data.requests[WS]} == {"U1", "U2", "U3"}

    await run_until(world, TUESDAY_10_BERLIN + timedelta(hours=3))
    assert len(all_requests(world)) == 3  # once


async def test_nobody_is_asked_outside_their_hours_and_the_weekend_does_not_count() -> None:
    friday_1650_berlin = datetime(2026, 12, 11, 15, 50, tzinfo=UTC)
    world = world_at(friday_1650_berlin)
    add_helper(world, "U1")
    await open_ask(world)
    monday_0930_berlin = datetime(2026, 12, 14, 8, 30, tzinfo=UTC)
    await run_until(world, monday_0930_berlin)
    assert all_requests(world) == []  # 10 minutes on Friday, 30 on Monday
    await run_until(world, monday_0930_berlin + timedelta(minutes=5))
    assert [u for u, _ in all_requests(world)] == ["U1"]


async def test_the_wait_is_counted_in_the_helpers_own_zone_across_a_clock_change() -> None:
    # New York leaves daylight time on Sunday 1 November 2026. A helper there works daily
    # 09:00-17:00: an ask at 16:50 on Saturday (EDT) has 10 working minutes that day, and
    # its 45 come at 09:35 on Sunday, EST: 14:35 UTC, not 13:35.
    new_york = WorkingHours(time(9), time(17), EVERY_DAY, "America/New_York")
    saturday_1650 = datetime(2026, 10, 31, 16, 50, tzinfo=ZoneInfo("America/New_York"))
    world = world_at(saturday_1650.astimezone(UTC))
    add_helper(world, "U-ny", new_york)
    await open_ask(world)
    await run_until(world, datetime(2026, 11, 1, 14, 30, tzinfo=UTC))
    assert all_requests(world) == []
    await run_until(world, datetime(2026, 11, 1, 14, 35, tzinfo=UTC))
    assert [u for u, _ in all_requests(world)] == ["U-ny"]


async def test_nobody_gets_more_than_the_daily_maximum_on_their_own_date() -> None:
    world = world_at(TUESDAY_10_BERLIN)
    add_helper(world, "U1")
    for i in range(3):
        await open_ask(world, text=f"Question number {i} about the build cache and its keys")
    await run_until(world, TUESDAY_10_BERLIN + timedelta(hours=7))  # to 17:00 Berlin
    assert len(requests_to(world, "U1")) == 2  # daily-requests: 2
    # The next morning (a new day of theirs), the third ask reaches them.
    await run_until(world, TUESDAY_10_BERLIN + timedelta(hours=24))
    assert len(requests_to(world, "U1")) == 3
    days = [r.local_date for r in world.store.data.requests[WS]]
    assert days.count(days[0]) == 2 and len(set(days)) == 2


async def test_the_ladder_stops_at_the_first_offer() -> None:
    world = world_at(TUESDAY_10_BERLIN)
    add_helper(world, "U1")
    ask = await open_ask(world)
    await run_until(world, TUESDAY_10_BERLIN + timedelta(minutes=30))
    await world.handle(OfferHelp(WS, member("U-someone"), ask.id))
    await run_until(world, TUESDAY_10_BERLIN + timedelta(hours=6))
    assert all_requests(world) == []
    assert world.store.ask(ask.id).ladder_step == LadderStep.TIPS


async def test_i_can_help_on_a_request_offers_and_counts_as_answering_it() -> None:
    world = world_at(TUESDAY_10_BERLIN)
    add_helper(world, "U1")
    ask = await open_ask(world)
    await run_until(world, TUESDAY_10_BERLIN + timedelta(minutes=50))
    [request] = requests_to(world, "U1")
    said = await press(world, "U1", request, ActionId.REQUEST_OFFER)
    assert "Thank you for offering to help" in said
    assert [o.helper_id for o in world.store.offers(ask.id)] == ["U1"]
    [stored] = world.store.data.requests[WS]
    assert stored.answer is RequestAnswer.OFFERED


async def test_not_now_spares_the_helper_for_the_rest_of_their_day() -> None:
    world = world_at(TUESDAY_10_BERLIN)
    add_helper(world, "U1")
    await open_ask(world, text="First: the release notes generator skips merged PRs, why?")
    await run_until(world, TUESDAY_10_BERLIN + timedelta(minutes=50))
    [request] = requests_to(world, "U1")
    said = await press(world, "U1", request, ActionId.REQUEST_NOT_NOW)
    assert "no more requests today" in said
    await open_ask(world, text="Second: our Grafana alerts fire twice for one incident")
    await run_until(world, TUESDAY_10_BERLIN + timedelta(hours=7))
    assert len(requests_to(world, "U1")) == 1
    await run_until(world, TUESDAY_10_BERLIN + timedelta(hours=24))
    assert len(requests_to(world, "U1")) == 2  # the next day they may be asked again
    assert world.store.data.requests[WS][0].answer is RequestAnswer.NOT_NOW


async def test_stop_asking_me_opts_out_at_once() -> None:
    world = world_at(TUESDAY_10_BERLIN)
    add_helper(world, "U1")
    await open_ask(world)
    await run_until(world, TUESDAY_10_BERLIN + timedelta(minutes=50))
    [request] = requests_to(world, "U1")
    said = await press(world, "U1", request, ActionId.REQUEST_STOP)
    assert "won't ask you to look at asks any more" in said
    assert not world.store.data.helpers[WS]["U1"].active
    await open_ask(world, text="Another ask that waits for a hand with the CI runners")
    await run_until(world, TUESDAY_10_BERLIN + timedelta(days=3))
    assert len(requests_to(world, "U1")) == 1


async def test_an_anonymous_askers_identity_never_reaches_a_helper() -> None:
    world = world_at(TUESDAY_10_BERLIN)
    add_helper(world, "U1")
    await open_ask(world, anonymous=True)
    await run_until(world, TUESDAY_10_BERLIN + timedelta(minutes=50))
    [request] = requests_to(world, "U1")
    shown = text_of(request)
    assert ASKER not in shown and "Asked by someone" in shown
    assert ASKER not in repr(request)


async def test_the_asker_is_never_asked_about_their_own_ask_nor_is_anyone_off_the_roster() -> None:
    world = world_at(TUESDAY_10_BERLIN)
    add_helper(world, ASKER)
    add_helper(world, "U-off", active=False)
    add_helper(world, "U-nohours", hours=None)
    await open_ask(world)
    await run_until(world, TUESDAY_10_BERLIN + timedelta(hours=7))
    assert all_requests(world) == []


async def test_two_maintenance_runs_at_once_ask_each_helper_once() -> None:
    world = world_at(TUESDAY_10_BERLIN)
    add_helper(world, "U1")
    add_helper(world, "U2")
    await open_ask(world)
    world.clock.advance(timedelta(minutes=50))
    await asyncio.gather(*(world.handle(RunAskMaintenance()) for _ in range(3)))
    assert sorted(u for u, _ in all_requests(world)) == ["U1", "U2"]


async def test_requests_can_be_turned_off_and_moved() -> None:
    world = world_at(TUESDAY_10_BERLIN)
    add_helper(world, "U1")
    admin = member(ADMIN, admin=True)
    said = await world.handle(ChangeConfig(WS, admin, "request-after", "2h"))
    assert "request-after is now 2h" in text_of(said.private[0])
    await open_ask(world)
    await run_until(world, TUESDAY_10_BERLIN + timedelta(minutes=115))
    assert all_requests(world) == []
    await run_until(world, TUESDAY_10_BERLIN + timedelta(minutes=125))
    assert len(all_requests(world)) == 1
    await world.handle(ChangeConfig(WS, admin, "request-after", "off"))
    await open_ask(world)
    await run_until(world, TUESDAY_10_BERLIN + timedelta(hours=7))
    assert len(all_requests(world)) == 1


# -- the escalation post -----------------------------------------------------------------


async def test_an_admin_chooses_the_escalation_channel() -> None:
    world = world_at(TUESDAY_10_BERLIN)
    refused = await world.handle(parse_leanon("escalate here", WS, member(ASKER), "C-esc"))
    assert "Only workspace admins can choose the escalation channel" in text_of(refused.private[0])
    shown = await world.handle(parse_leanon("escalate", WS, member(ASKER), "C-esc"))
    assert "No escalation channel" in text_of(shown.private[0])
    chosen = await world.handle(parse_leanon("escalate here", WS, member(ADMIN, admin=True), "C-esc"))
    assert "posted in this channel after 4h of working time" in text_of(chosen.private[0])
    assert world.store.settings().escalation_channel == "C-esc"
    elsewhere = await world.handle(parse_leanon("escalate", WS, member(ASKER), "C1"))
    assert "the channel an admin chose" in text_of(elsewhere.private[0])
    await world.handle(parse_leanon("escalate off", WS, member(ADMIN, admin=True), "C1"))
    assert world.store.settings().escalation_channel is None


async def test_an_ask_nobody_took_is_posted_in_the_escalation_channel_after_4_working_hours() -> None:
    world = world_at(TUESDAY_10_BERLIN)
    add_helper(world, "U1", topics=("payroll",))  # not suited: no request
    await world.handle(parse_leanon("escalate here", WS, member(ADMIN, admin=True), "C-esc"))
    ask = await open_ask(world, anonymous=True)
    await run_until(world, TUESDAY_10_BERLIN + timedelta(hours=3, minutes=55))
    assert [p for p in world.chat.posted if p.channel_id == "C-esc"] == []
    await run_until(world, TUESDAY_10_BERLIN + timedelta(days=2))
    [posted] = [p for p in world.chat.posted if p.channel_id == "C-esc"]
    assert posted.message.kind is MessageKind.ESCALATION
    shown = text_of(posted.message)
    assert "nobody has offered yet" in shown and ASKER not in shown
    assert world.store.ask(ask.id).ladder_step == LadderStep.ESCALATION


async def test_the_escalation_waits_for_the_teams_working_hours() -> None:
    # Asked at 16:00 in Berlin on a Friday: one working hour then, three on Monday.
    friday_16_berlin = datetime(2026, 12, 11, 15, 0, tzinfo=UTC)
    world = world_at(friday_16_berlin)
    add_helper(world, "U1", topics=("payroll",))
    await world.handle(parse_leanon("escalate here", WS, member(ADMIN, admin=True), "C-esc"))
    await open_ask(world)
    monday_1155 = datetime(2026, 12, 14, 10, 55, tzinfo=UTC)
    await run_until(world, monday_1155)
    assert [p for p in world.chat.posted if p.channel_id == "C-esc"] == []
    await run_until(world, monday_1155 + timedelta(minutes=5))
    assert len([p for p in world.chat.posted if p.channel_id == "C-esc"]) == 1


async def test_an_ask_in_a_private_channel_is_never_escalated_elsewhere() -> None:
    world = world_at(TUESDAY_10_BERLIN)
    world.chat.private_channels.add("C-secret")
    await world.handle(parse_leanon("escalate here", WS, member(ADMIN, admin=True), "C-esc"))
    await open_ask(world, channel="C-secret")
    await run_until(world, TUESDAY_10_BERLIN + timedelta(hours=6))
    assert [p for p in world.chat.posted if p.channel_id == "C-esc"] == []


def test_the_teams_working_time_is_the_union_of_the_helpers_hours() -> None:
    early = WorkingHours(time(7), time(12), WORKDAYS, "UTC")
    late = WorkingHours(time(10), time(18), WORKDAYS, "UTC")
    monday = datetime(2026, 12, 7, tzinfo=UTC)
    assert working_time_of_any([early, late], monday, monday + timedelta(days=1)) == timedelta(hours=11)
    assert working_time_of_any([], monday, monday + timedelta(hours=5)) == timedelta(hours=5)
    assert working_time_of_any([early], monday + timedelta(hours=8), monday) == timedelta(0)


async def test_a_failure_before_the_commit_takes_the_step_at_the_next_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    world = world_at(TUESDAY_10_BERLIN)
    add_helper(world, "U1")
    ask = await open_ask(world)
    world.clock.advance(timedelta(minutes=50))
    failing = AsyncMock(side_effect=StorageError("the database went away"))
    monkeypatch.setattr(FakeHelpRequestRepository, "add", failing)
    with pytest.raises(StorageError):
        await world.handle(RunAskMaintenance())
    assert all_requests(world) == [] and world.store.ask(ask.id).ladder_step == LadderStep.TIPS
    monkeypatch.undo()
    await run_until(world, world.clock.now() + STEP)
    assert [u for u, _ in all_requests(world)] == ["U1"]
    assert world.store.ask(ask.id).asked_helpers == 1


async def test_an_ask_nobody_suits_is_searched_for_related_asks_once_an_hour() -> None:
    search = Search()
    world = make_world(clock=FixedClock(TUESDAY_10_BERLIN), search=search)
    add_helper(world, "U1", topics=("payroll",))  # at work, but not for this ask
    await open_ask(world)
    before = len(search.asked)
    await run_until(world, TUESDAY_10_BERLIN + timedelta(hours=2))
    assert all_requests(world) == []
    # tried every 5 minutes from 45 minutes on, searched at 50 minutes and an hour later
    assert len(search.asked) - before == 2


async def test_a_request_button_pressed_by_someone_not_asked_changes_nothing() -> None:
    world = world_at(TUESDAY_10_BERLIN)
    add_helper(world, "U1")
    add_helper(world, "U2", topics=("payroll",))  # a helper, not asked about this ask
    ask = await open_ask(world)
    await run_until(world, TUESDAY_10_BERLIN + timedelta(minutes=50))
    [request] = requests_to(world, "U1")
    for action in (ActionId.REQUEST_OFFER, ActionId.REQUEST_NOT_NOW, ActionId.REQUEST_STOP):
        for who in ("U2", "U-not-a-helper"):
            said = await press(world, who, request, action)
            assert "leanon did not ask you about that ask. Nothing was changed." in said
    assert world.store.offers(ask.id) == []
    assert world.store.data.helpers[WS]["U2"] == Helper("U2", True, ("payroll",), BERLIN)
    assert "U-not-a-helper" not in world.store.data.helpers[WS]
    # The card's own I can help works for anyone, as ever.
    await world.handle(OfferHelp(WS, member("U2"), ask.id))
    assert [o.helper_id for o in world.store.offers(ask.id)] == ["U2"]

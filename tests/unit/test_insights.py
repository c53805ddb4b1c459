"""The insights page's core: who may sign in, and the numbers it shows (never about one
person: groups of fewer than 5 are withheld, anonymous asks count only in totals)."""

from __future__ import annotations

from datetime import timedelta

from bot import insights
from bot.commands import OfferHelp, OpenInsights, ThankMembers
from bot.commands import Person as Named
from bot.domain import Platform, WorkspaceRef
from tests.unit.fakes import ADMIN, ASKER, WS, World, make_world, member, open_ask, text_of

URL = "https://leanon.example"


def world_with_page() -> World:
    return make_world(insights_url=URL)


def token_of(text: str) -> str:
    return text.split(f"{URL}/insights/login/")[1].split()[0]


async def test_an_admin_gets_a_one_time_link_that_starts_one_session() -> None:
    world = world_with_page()
    refused = await world.handle(OpenInsights(WS, member(ASKER)))
    assert "Only workspace admins can open the insights page" in text_of(refused.private[0])
    reply = await world.handle(OpenInsights(WS, member(ADMIN, admin=True)))
    said = text_of(reply.private[0])
    assert "works once, for the next 10 minutes" in said
    token = token_of(said)
    assert token not in repr(world.store.data.insight_links)  # only its hash is kept
    started = await insights.sign_in(world.deps, token)
    assert started is not None
    session, signed = started
    assert (signed.workspace, signed.admin_id) == (WS, ADMIN)
    assert await insights.sign_in(world.deps, token) is None  # once
    assert await insights.signed_in(world.deps, session) == signed
    assert await insights.sign_out(world.deps, session)
    assert await insights.signed_in(world.deps, session) is None


async def test_a_link_expires_after_10_minutes_and_a_session_after_8_hours() -> None:
    world = world_with_page()
    reply = await world.handle(OpenInsights(WS, member(ADMIN, admin=True)))
    world.clock.advance(timedelta(minutes=10, seconds=1))
    assert await insights.sign_in(world.deps, token_of(text_of(reply.private[0]))) is None
    again = await world.handle(OpenInsights(WS, member(ADMIN, admin=True)))
    started = await insights.sign_in(world.deps, token_of(text_of(again.private[0])))
    assert started is not None
    world.clock.advance(timedelta(hours=8, seconds=1))
    assert await insights.signed_in(world.deps, started[0]) is None


async def test_without_a_web_server_the_command_says_so() -> None:
    world = make_world()
    reply = await world.handle(OpenInsights(WS, member(ADMIN, admin=True)))
    assert "leanon run's web server" in text_of(reply.private[0])


async def test_the_numbers_never_single_out_a_group_of_fewer_than_five() -> None:
    world = make_world()
    for n in range(2):  # two askers and one helper: 3 people
        ask = await open_ask(world, asker=f"U-ask{n}", channel="C-small")
        await world.handle(OfferHelp(WS, member("U-help"), ask.id))
    for n in range(6):
        ask = await open_ask(world, asker=f"U-big{n}", channel="C-big",
                             anonymous=n == 0)
        world.clock.advance(timedelta(minutes=30))
        await world.handle(OfferHelp(WS, member(f"U-helper{n}"), ask.id))
    await world.handle(ThankMembers(WS, member("U-big1"), "C-big", (Named("U-helper1"),), "thanks"))
    world.clock.advance(timedelta(days=2))
    numbers = await insights.insights(world.deps, WS)
    assert len(numbers.weeks) == 12
    week = numbers.weeks[-1]
    assert (week.opened, week.thanks) == (8, 1)
    assert week.first_time_askers == 7  # the anonymous asker counts only in the total
    assert week.top_three_share == 4 / 8  # U-help's 2 offers and two others' 1 each, of 8
    assert week.median_first_offer == timedelta(minutes=30)  # 0, 0 and six times 30 minutes
    assert week.unanswered_share == 0.0
    by_channel = {c.channel_id: c for c in numbers.channels}
    assert by_channel["C-small"].opened is None and by_channel["C-small"].thanks is None
    assert by_channel["C-big"].opened == 6 and by_channel["C-big"].thanks == 1
    assert numbers.all_channels == ["C-big", "C-small"]
    only_big = await insights.insights(world.deps, WS, 4, "C-big")
    assert only_big.weeks[-1].opened == 6 and len(only_big.weeks) == 4
    assert only_big.weeks[-1].first_time_askers == 5
    assert only_big.weeks[-1].top_three_share == 3 / 6
    other = await insights.insights(world.deps, WorkspaceRef(Platform.DISCORD, "G-other"))
    assert all(w.opened == 0 for w in other.weeks) and other.channels == []

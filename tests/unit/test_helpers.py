"""Helpers opt in (`/leanon helper`, `/leanon hours`) and admins see the roster
(`/leanon helpers`): what is said is read, stored, and told back; what is not is refused
and changes nothing."""

from __future__ import annotations

from datetime import time

import pytest

from bot.commands import ForgetMe, ListHelpers, SetHelper, SetHours
from bot.domain import Helper
from bot.hours import WORKDAYS, WorkingHours, parse_hours
from bot.messages import MessageKind
from bot.parsing import ParseError, parse_leanon, parse_topics
from tests.unit.fakes import CHANNEL, WS, World, member, reply_text

BERLIN_OFFICE = WorkingHours(time(9), time(17, 30), WORKDAYS, "Europe/Berlin")


def parsed(text: str) -> object:
    return parse_leanon(text, WS, member("U1"), CHANNEL)


def test_helper_commands_are_read() -> None:
    assert parsed("helper") == SetHelper(WS, member("U1"))
    assert parsed("helper on") == SetHelper(WS, member("U1"), True)
    assert parsed("helper ON Kubernetes, Terraform,  CI/CD") == SetHelper(
        WS, member("U1"), True, ("kubernetes", "terraform", "ci/cd"))
    assert parsed("helper on postgres react") == SetHelper(WS, member("U1"), True, ("postgres", "react"))
    assert parsed("helper off") == SetHelper(WS, member("U1"), False)
    assert parsed("helper topics c++, C#, node.js") == SetHelper(
        WS, member("U1"), topics=("c++", "c#", "node.js"))
    assert parsed("helper topics none") == SetHelper(WS, member("U1"), topics=())
    assert parsed("hours 9-17:30 Europe/Berlin") == SetHours(
        WS, member("U1"), parse_hours("9-17:30 Europe/Berlin"))
    assert parsed("helpers") == ListHelpers(WS, member("U1"))


def test_topics_never_carry_mentions_or_markup() -> None:
    assert parse_topics("<@U123>, <!here>, *bold*, `code`") == ("u123", "here", "bold", "code")
    assert parse_topics("@everyone") == ("everyone",)
    assert parse_topics("a" * 100) == ("a" * 32,)
    assert parse_topics("kubernetes, Kubernetes ,") == ("kubernetes",)


@pytest.mark.parametrize(("text", "message"), [
    ("helper maybe", "Use /leanon helper on"),
    ("helper off now", "Use /leanon helper on"),
    ("helper topics", "Use /leanon helper on"),
    ("helper topics ***", "Use /leanon helper on"),
    ("helper on " + ", ".join(f"t{i}" for i in range(11)), "At most 10 topics"),
    ("hours", "Use /leanon hours 09:00-17:30"),
    ("hours 9-17 someday", "I don't understand 'someday'"),
    ("hours 9-9 UTC", "different times"),
])
def test_what_is_not_a_helper_command_says_what_would_be(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parsed(text)


async def test_a_member_opts_in_with_topics_and_is_told_hours_are_missing(world: World) -> None:
    reply = await world.handle(parsed("helper on kubernetes, terraform"))
    text = reply_text(reply)
    assert "You're a helper (kubernetes, terraform)" in text
    assert "working hours aren't set, so leanon never asks you" in text
    async with world.store.uow() as uow:
        assert await uow.members.helper(WS, "U1") == Helper("U1", True, ("kubernetes", "terraform"))


async def test_hours_in_a_zone_said_are_stored_and_shown(world: World) -> None:
    await world.handle(parsed("helper on"))
    reply = await world.handle(parsed("hours 09:00-17:30 mon-fri europe/berlin"))
    assert "Your working hours: 09:00-17:30, Mon-Fri, Europe/Berlin" in reply_text(reply)
    assert "You're a helper (any topic)" in reply_text(reply)
    async with world.store.uow() as uow:
        assert await uow.members.helper(WS, "U1") == Helper("U1", True, (), BERLIN_OFFICE)


async def test_hours_without_a_zone_take_the_members_profile_zone(world: World) -> None:
    world.chat.zones["U1"] = "Europe/Berlin"
    reply = await world.handle(parsed("hours 9-17:30"))
    assert "09:00-17:30, Mon-Fri, Europe/Berlin" in reply_text(reply)
    assert "You're not a helper" in reply_text(reply)  # hours alone ask nothing of anyone
    async with world.store.uow() as uow:
        assert await uow.members.helper(WS, "U1") == Helper("U1", hours=BERLIN_OFFICE)


async def test_hours_without_any_zone_are_refused_and_change_nothing(world: World) -> None:
    await world.handle(parsed("hours 08:00-12:00 UTC"))
    reply = await world.handle(parsed("hours 9-17"))
    assert reply.private[0].kind is MessageKind.ERROR
    assert "Which time zone" in reply_text(reply)
    async with world.store.uow() as uow:
        helper = await uow.members.helper(WS, "U1")
    assert helper is not None and helper.hours is not None and helper.hours.start == time(8)


async def test_topics_change_alone_and_off_keeps_topics_and_hours(world: World) -> None:
    await world.handle(parsed("helper on kubernetes"))
    await world.handle(parsed("hours 9-17:30 Europe/Berlin"))
    await world.handle(parsed("helper topics terraform"))
    reply = await world.handle(parsed("helper off"))
    assert "You're not a helper" in reply_text(reply)
    async with world.store.uow() as uow:
        assert await uow.members.helper(WS, "U1") == Helper("U1", False, ("terraform",), BERLIN_OFFICE)
    reply = await world.handle(parsed("helper"))  # where they stand; nothing changes
    assert "You're not a helper" in reply_text(reply) and "09:00-17:30" in reply_text(reply)
    reply = await world.handle(parsed("helper on"))
    assert "You're a helper (terraform)" in reply_text(reply)


async def test_the_roster_is_for_admins_and_lists_active_helpers(world: World) -> None:
    await world.handle(SetHelper(WS, member("U-kim"), True, ("kubernetes",)))
    await world.handle(SetHours(WS, member("U-kim"), parse_hours("9-17:30 Europe/Berlin")))
    await world.handle(SetHelper(WS, member("U-ada"), True))
    await world.handle(SetHelper(WS, member("U-bo"), False, ("terraform",)))
    refused = await world.handle(ListHelpers(WS, member("U1")))
    assert refused.private[0].kind is MessageKind.ERROR and "Only workspace admins" in reply_text(refused)
    reply = await world.handle(ListHelpers(WS, member("U-lead", admin=True)))
    text = reply_text(reply)
    assert "2 helpers, 1 without working hours" in text
    assert "@U-kim: kubernetes; 09:00-17:30, Mon-Fri, Europe/Berlin" in text
    assert "@U-ada: any topic; no working hours set" in text
    assert "U-bo" not in text


async def test_an_empty_roster_says_how_members_opt_in(world: World) -> None:
    reply = await world.handle(ListHelpers(WS, member("U-lead", admin=True)))
    assert "Nobody is a helper yet" in reply_text(reply)


async def test_forget_me_forgets_the_helper_entry(world: World) -> None:
    await world.handle(SetHelper(WS, member("U1"), True, ("kubernetes",)))
    await world.handle(ForgetMe(WS, member("U1"), keep_asks=False))
    async with world.store.uow() as uow:
        assert await uow.members.helper(WS, "U1") is None

"""The content of a weekly post: the team's numbers, waiting asks, who was thanked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.commands import (
    CreateAsk,
    NudgeNow,
    NudgePreview,
    OfferHelp,
    Person,
    ReactionAdded,
    ResolveAsk,
    RunAskMaintenance,
    SetHelper,
    SetHours,
    SetNamed,
    ThankHelper,
    ThankMembers,
)
from bot.domain import Actor, MessageRef
from bot.hours import parse_hours
from bot.messages import Link, Mention, Message, MessageKind, render_line
from tests.nudges.nudge_testing import ADMIN, WS, RecordingChat, SettableClock, leanon, utc

ALICE, BOB, CAROL, DAN, EVE = (Actor(u) for u in ("U_ALICE", "U_BOB", "U_CAROL", "U_DAN", "U_EVE"))
T0 = utc(2026, 11, 23, 10, 0)


def text_of(message: Message) -> list[str]:
    return [render_line(line, {}) for line in message.lines]


async def seed(runtime, clock: SettableClock, chat: RecordingChat) -> None:
    """A week in #C1 (and some noise elsewhere)."""
    handle = runtime.service.handle
    clock.set(T0 - timedelta(days=21))
    await handle(CreateAsk(WS, ALICE, "C2", "An old question in another channel, long ago?"))
    clock.set(T0)
    await handle(CreateAsk(WS, ALICE, "C1", "How do I get read access to the billing replica?"))
    card = chat.posts[-1].ref
    clock.advance(timedelta(minutes=30))
    await handle(OfferHelp(WS, BOB, 2))
    await handle(ResolveAsk(WS, ALICE, 2))
    await handle(ThankHelper(WS, ALICE, 2, BOB.user_id))
    clock.advance(timedelta(hours=1))
    await handle(CreateAsk(WS, CAROL, "C1", "Where do the on-call runbooks live these days?"))
    await handle(CreateAsk(WS, EVE, "C1", "Is anyone else seeing flaky login tests?",
                           anonymous=True))
    await handle(ThankMembers(WS, DAN, "C1", (Person(BOB.user_id),), "for the pairing"))
    await handle(ReactionAdded(WS, CAROL, Person(BOB.user_id), MessageRef("C1", "555.1"), "pray"))
    await handle(CreateAsk(WS, DAN, "C9", "Noise in another channel: where is the VPN guide?"))
    assert card.channel_id == "C1"


async def test_the_post_has_the_weeks_numbers_waiting_asks_and_thanked_people(
        tmp_path: Path) -> None:
    clock = SettableClock(T0)
    chat = RecordingChat(clock)
    async with leanon(tmp_path / "db.sqlite", clock, chat) as runtime:
        await seed(runtime, clock, chat)
        clock.set(T0 + timedelta(days=6))
        reply = await runtime.service.handle(NudgeNow(WS, ADMIN, "C1"))
    assert reply.ok
    post = chat.posts[-1].message
    assert post.kind is MessageKind.WEEKLY_POST
    lines = text_of(post)
    assert "📊 The last 7 days here: 3 asks opened, 1 resolved." in lines
    assert "⏱️ A first offer of help came after a median of 30m." in lines
    assert "🙏 3 thanks given; 1 person helped." in lines
    assert any(line.startswith("🌱 2 people asked for the first time") for line in lines)
    assert "• Where do the on-call runbooks live these days? (asked by @U_CAROL)" in lines
    assert "• Is anyone else seeing flaky login tests? (asked by someone)" in lines
    assert "Thanked this week: @U_BOB. Thank you for helping!" in lines
    assert lines[-1].startswith("💡 ")
    links = [p for line in post.lines for p in line if isinstance(p, Link)]
    assert {link.ref.channel_id for link in links} == {"C1"}
    # The anonymous asker is nowhere in the post.
    assert EVE.user_id not in repr(post)


async def test_the_post_thanks_the_helpers_who_said_yes_to_a_request_without_ranking(
        tmp_path: Path) -> None:
    clock = SettableClock(T0)
    chat = RecordingChat(clock)
    async with leanon(tmp_path / "db.sqlite", clock, chat) as runtime:
        handle = runtime.service.handle
        for helper in (DAN, BOB, CAROL):
            await handle(SetHours(WS, helper, parse_hours("00:00-23:59 daily UTC")))
            await handle(SetHelper(WS, helper, True))
        await handle(CreateAsk(WS, ALICE, "C1", "How do I get read access to the billing replica?"))
        clock.advance(timedelta(minutes=50))
        await handle(RunAskMaintenance())
        requests = [m for kind, m in chat.other
                    if kind == "tell" and isinstance(m, Message) and m.kind is MessageKind.HELP_REQUEST]
        assert len(requests) == 3
        await handle(OfferHelp(WS, DAN, 1))
        await handle(OfferHelp(WS, BOB, 1))  # CAROL did not answer
        clock.advance(timedelta(days=1))
        await handle(NudgeNow(WS, ADMIN, "C1"))
    lines = text_of(chat.posts_in("C1")[-1].message)
    assert ("🤝 When leanon asked them to look at a waiting ask, @U_BOB and @U_DAN said yes. "
            "Thank you!") in lines


async def test_members_who_opted_out_are_not_named(tmp_path: Path) -> None:
    clock = SettableClock(T0)
    chat = RecordingChat(clock)
    async with leanon(tmp_path / "db.sqlite", clock, chat) as runtime:
        await seed(runtime, clock, chat)
        await runtime.service.handle(SetNamed(WS, BOB, named=False))
        clock.set(T0 + timedelta(days=1))
        await runtime.service.handle(NudgeNow(WS, ADMIN, "C1"))
    post = chat.posts[-1].message
    assert not any(isinstance(p, Mention) and p.user_id == BOB.user_id
                   for line in post.lines for p in line)
    assert "🙏 3 thanks given; 1 person helped." in text_of(post)


async def test_a_quiet_week_still_encourages(tmp_path: Path) -> None:
    clock = SettableClock(T0)
    chat = RecordingChat(clock)
    async with leanon(tmp_path / "db.sqlite", clock, chat) as runtime:
        await runtime.service.handle(NudgeNow(WS, ADMIN, "C1"))
    lines = text_of(chat.posts[-1].message)
    assert any("A quiet week here" in line for line in lines)


async def test_preview_is_private_and_changes_nothing(tmp_path: Path) -> None:
    clock = SettableClock(T0)
    chat = RecordingChat(clock)
    async with leanon(tmp_path / "db.sqlite", clock, chat) as runtime:
        first = await runtime.service.handle(NudgePreview(WS, ALICE, "C1"))
        again = await runtime.service.handle(NudgePreview(WS, ALICE, "C1"))
        await runtime.service.handle(NudgeNow(WS, ADMIN, "C1"))
    assert chat.posts[0].message.title == first.private[1].title == again.private[1].title
    assert "no weekly post yet" in render_line(first.private[0].lines[0], {})

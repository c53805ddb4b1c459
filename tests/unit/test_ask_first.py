"""`suggestions ask-first`: what answered an ask before is shown before the ask is posted;
the ask waits (held) until its asker presses Post my ask anyway, and "This solved it"
resolves it without a card ever posted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.asks import HELD_FOR
from bot.buttons import pressed
from bot.commands import (
    ChangeConfig,
    CreateAsk,
    PostAsk,
    RejectAnswer,
    ReuseAnswer,
    RunAskMaintenance,
)
from bot.domain import AskStatus, CloseReason, Settings, SuggestionMode
from bot.messages import ActionId, Message, Reply
from bot.ports import Match
from tests.unit.fakes import ADMIN, CHANNEL, HELPER, OTHER, WS, World, make_world, member, reply_text
from tests.unit.test_memory import Search, solved_before


@pytest.fixture
def search() -> Search:
    return Search()


@pytest.fixture
def world(search: Search) -> World:
    made = make_world(search=search)
    made.store.put_settings(Settings(suggestions=SuggestionMode.ASK_FIRST))
    return made


def buttons(reply: Reply, action: ActionId) -> list[str]:
    return [b.value for m in reply.private for b in m.buttons if b.action is action]


def posts(world: World) -> list[Message]:
    return [p.message for p in world.chat.posted]


async def ask(world: World, text: str = "vpn keeps disconnecting") -> tuple[int, Reply]:
    reply = await world.handle(CreateAsk(WS, member(OTHER), CHANNEL, text, None, False))
    assert reply.ok, reply_text(reply)
    return world.store.asks()[-1].id, reply


async def test_a_repeat_is_held_and_shown_what_solved_it_before_posting(
        world: World, search: Search) -> None:
    old = await solved_before(world)
    search.matches = [Match(old, 0.8)]
    cards_before = len(posts(world))
    ask_id, reply = await ask(world)
    said = reply_text(reply)
    assert "Before your ask is posted" in said and "Update the VPN client to 5.2" in said
    assert "Your ask is posted" not in said
    assert buttons(reply, ActionId.REUSE_ANSWER) == [f"{ask_id}:{old}"]
    assert buttons(reply, ActionId.POST_ASK) == [str(ask_id)]
    held = world.store.ask(ask_id)
    assert held.status is AskStatus.HELD and held.message is None
    assert len(posts(world)) == cards_before  # nothing posted in the channel

    # Not it: still held, and the button to post it comes again.
    not_it = await world.handle(RejectAnswer(WS, member(OTHER), ask_id, old))
    assert buttons(not_it, ActionId.POST_ASK) == [str(ask_id)]
    assert world.store.ask(ask_id).status is AskStatus.HELD

    # Only the asker may post it; then it is posted once, however often it is pressed.
    refused = await world.handle(PostAsk(WS, member(HELPER), ask_id))
    assert "Only the person who asked" in reply_text(refused)
    press = pressed(WS.platform, ActionId.POST_ASK.value, str(ask_id))
    assert press is not None
    posted = await world.handle(press.command(WS, member(OTHER)))
    assert "Your ask is posted" in reply_text(posted)
    card = world.store.ask(ask_id)
    assert card.status is AskStatus.OPEN and card.message is not None
    assert len(posts(world)) == cards_before + 1
    again = await world.handle(PostAsk(WS, member(OTHER), ask_id))
    assert "posted already" in reply_text(again)
    assert len(posts(world)) == cards_before + 1


async def test_this_solved_it_resolves_a_held_ask_without_posting_it(
        world: World, search: Search) -> None:
    old = await solved_before(world)
    search.matches = [Match(old, 0.8)]
    cards_before = len(posts(world))
    ask_id, _ = await ask(world)
    solved = await world.handle(ReuseAnswer(WS, member(OTHER), ask_id, old))
    assert "it was not posted" in reply_text(solved)
    resolved = world.store.ask(ask_id)
    assert resolved.status is AskStatus.RESOLVED and resolved.message is None
    assert len(posts(world)) == cards_before
    late = await world.handle(PostAsk(WS, member(OTHER), ask_id))
    assert "not posted" in reply_text(late) and len(posts(world)) == cards_before


async def test_with_nothing_found_or_a_failing_search_the_ask_is_posted_at_once(
        world: World, search: Search) -> None:
    ask_id, reply = await ask(world, "printer offline")
    assert "Your ask is posted" in reply_text(reply)
    assert world.store.ask(ask_id).status is AskStatus.OPEN
    assert world.store.ask(ask_id).message is not None
    search.fail = RuntimeError("the model is broken")
    search.matches = [Match(await solved_before(world), 0.9)]
    ask_id, reply = await ask(world, "vpn again")
    assert "Your ask is posted" in reply_text(reply)
    assert world.store.ask(ask_id).message is not None


async def test_an_answer_the_asker_may_not_see_does_not_hold_the_ask(
        world: World, search: Search) -> None:
    world.chat.private_channels.add("C_SECRET")
    secret = await solved_before(world, "board room VPN", channel="C_SECRET")
    search.matches = [Match(secret, 0.9)]
    ask_id, reply = await ask(world)
    assert "Your ask is posted" in reply_text(reply) and "board room" not in reply_text(reply)
    assert world.store.ask(ask_id).status is AskStatus.OPEN


async def test_the_same_delivery_worked_again_holds_one_ask(world: World, search: Search) -> None:
    search.matches = [Match(await solved_before(world), 0.8)]
    command = CreateAsk(WS, member(OTHER), CHANNEL, "vpn keeps disconnecting", None, False,
                        request_id="delivery-1")
    await world.handle(command)
    count = len(world.store.asks())
    again = await world.handle(command)
    assert len(world.store.asks()) == count
    assert buttons(again, ActionId.POST_ASK) == [str(world.store.asks()[-1].id)]


async def test_the_same_delivery_worked_again_after_this_solved_it_says_so(
        world: World, search: Search) -> None:
    """Worked again after the asker resolved the held ask from memory: no "posted", since
    no card ever was."""
    old = await solved_before(world)
    search.matches = [Match(old, 0.8)]
    command = CreateAsk(WS, member(OTHER), CHANNEL, "vpn keeps disconnecting", None, False,
                        request_id="delivery-2")
    await world.handle(command)
    ask_id = world.store.asks()[-1].id
    await world.handle(ReuseAnswer(WS, member(OTHER), ask_id, old))
    cards_before = len(posts(world))
    again = reply_text(await world.handle(command))
    assert "posted" not in again.replace("not posted", "")
    assert "answered before" in again and len(posts(world)) == cards_before


async def test_the_setting_takes_ask_first(world: World) -> None:
    world.store.put_settings(Settings())
    reply = await world.handle(ChangeConfig(WS, member(ADMIN, admin=True), "suggestions",
                                            "ask-first"))
    assert reply.ok, reply_text(reply)
    async with world.store.uow() as uow:
        assert (await uow.workspaces.settings(WS)).suggestions is SuggestionMode.ASK_FIRST
    wrong = await world.handle(ChangeConfig(WS, member(ADMIN, admin=True), "suggestions",
                                            "sometimes"))
    assert "Use on, off or ask-first" in reply_text(wrong)



async def test_a_held_ask_never_posted_is_closed_after_a_day(world: World, search: Search) -> None:
    search.matches = [Match(await solved_before(world), 0.8)]
    ask_id, reply = await ask(world)
    [post] = buttons(reply, ActionId.POST_ASK)
    world.clock.advance(HELD_FOR - timedelta(minutes=1))
    await world.handle(RunAskMaintenance())
    assert world.store.ask(ask_id).status is AskStatus.HELD
    world.clock.advance(timedelta(minutes=2))
    await world.handle(RunAskMaintenance())
    closed = world.store.ask(ask_id)
    assert (closed.status, closed.close_reason) == (AskStatus.CLOSED, CloseReason.WITHDRAWN)
    cards_before = len(posts(world))
    late = await world.handle(PostAsk(WS, member(OTHER), int(post)))
    assert "not posted" in reply_text(late) and len(posts(world)) == cards_before

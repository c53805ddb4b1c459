"""Answered before, in the core: what a new ask is offered, "This solved it", "Not it",
and the background vectors, over a search that answers what the test says."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot import memory
from bot.buttons import pressed
from bot.commands import (
    CreateAsk,
    MarkAnswer,
    Person,
    RejectAnswer,
    ResolveAsk,
    ReuseAnswer,
    RunAnswerIndexing,
    SetNamed,
)
from bot.domain import (
    AnswerVector,
    AskStatus,
    MessageRef,
    NewAnswer,
    Platform,
    Settings,
    SuggestionMode,
    SuggestionOutcome,
    ThanksSource,
    WorkspaceRef,
)
from bot.messages import ActionId, Link, Mention, Message, MessageKind, Reply, UserText, render_line
from bot.nudges import build_post
from bot.ports import AnswerLibrary, Match
from tests.unit.fakes import (
    ADMIN,
    ASKER,
    CHANNEL,
    HELPER,
    HELPER2,
    OTHER,
    OTHER_CHANNEL,
    WS,
    FakeAnswerRepository,
    World,
    card,
    make_world,
    member,
    offer,
    open_ask,
    parts,
    reply_text,
)

MODEL = "test-model"


class Search:
    """An AnswerSearch that offers what the test put in `matches`, and records its calls."""

    def __init__(self) -> None:
        self.matches: list[Match] = []
        self.asked: list[tuple[WorkspaceRef, str, str | None]] = []
        self.vectorized: list[tuple[str, str | None]] = []
        self.fail: BaseException | None = None
        self.delay = 0.0

    @property
    def model(self) -> str:
        return MODEL

    async def vectorize(self, question: str, note: str | None) -> bytes:
        self.vectorized.append((question, note))
        return f"{question}|{note}".encode()

    async def similar(self, workspace: WorkspaceRef, question: str, channel_id: str | None,
                      library: AnswerLibrary) -> list[Match]:
        self.asked.append((workspace, question, channel_id))
        await library.vectors(None)  # the library reads in units of work of its own
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return list(self.matches)

    async def related(self, workspace: WorkspaceRef, question: str, channel_id: str | None,
                      library: AnswerLibrary) -> list[Match]:
        return await self.similar(workspace, question, channel_id, library)


@pytest.fixture
def search() -> Search:
    return Search()


@pytest.fixture
def world(search: Search) -> World:
    return make_world(search=search)


async def solved_before(world: World, text: str = "The VPN drops every few minutes",
                        note: str | None = "Update the VPN client to 5.2",
                        helpers: tuple[str, ...] = (HELPER,), channel: str = CHANNEL) -> int:
    """An ask that was helped and resolved with a note: its answer's id."""
    ask = await open_ask(world, text=text, channel=channel)
    for helper in helpers:
        await offer(world, ask, helper)
    reply = await world.handle(ResolveAsk(WS, member(ASKER), ask.id, note))
    assert reply.ok, reply_text(reply)
    return world.store.answers()[-1].id


def offered(reply: Reply) -> list[Message]:
    """The remembered answers a confirmation offers."""
    return [m for m in reply.private
            if any(b.action is ActionId.REUSE_ANSWER for b in m.buttons)]


async def ask_again(world: World, text: str = "vpn keeps disconnecting", asker: str = OTHER,
                    channel: str = CHANNEL) -> tuple[int, list[str], Reply]:
    """Ask; the ask's id, the texts of the answers offered, and the whole reply."""
    reply = await world.handle(CreateAsk(WS, member(asker), channel, text, None, False))
    assert reply.ok, reply_text(reply)
    assert "Your ask is posted" in reply.private[0].plain_text()
    return world.store.asks()[-1].id, [m.plain_text() for m in offered(reply)], reply


# --- offered with the confirmation -----------------------------------------------------


async def test_a_repeat_is_offered_what_solved_the_earlier_ask(world: World, search: Search) -> None:
    old = await solved_before(world, helpers=(HELPER, HELPER2))
    earlier = world.store.answers()[-1]
    search.matches = [Match(old, 0.8)]
    ask_id, _, reply = await ask_again(world)
    assert search.asked[-1] == (WS, "vpn keeps disconnecting", CHANNEL)
    [shown] = offered(reply)
    assert shown.title == "Asked before? This may answer it"
    assert "Update the VPN client to 5.2" in shown.plain_text()
    assert UserText("The VPN drops every few minutes") in parts(shown)
    assert Mention(HELPER) in parts(shown) and Mention(HELPER2) in parts(shown)
    old_ask = world.store.ask(earlier.ask_id or 0)
    assert Link(card(old_ask), "the earlier ask") in parts(shown)
    assert [(b.action, b.value) for b in shown.buttons] == [
        (ActionId.REUSE_ANSWER, f"{ask_id}:{old}"), (ActionId.REJECT_ANSWER, f"{ask_id}:{old}")]
    async with world.store.uow() as uow:
        shown = await uow.answers.suggestion(WS, ask_id, old)
    assert shown is not None and shown.chance == 0.8 and shown.outcome is None


async def test_the_asker_is_never_shown_and_members_not_named_are_left_out(
        world: World, search: Search) -> None:
    old = await solved_before(world, helpers=(HELPER, HELPER2))
    await world.handle(SetNamed(WS, member(HELPER2), named=False))
    search.matches = [Match(old, 0.8)]
    _, _, reply = await ask_again(world)
    [shown] = offered(reply)
    assert Mention(HELPER) in parts(shown)
    assert Mention(HELPER2) not in parts(shown) and Mention(ASKER) not in parts(shown)


async def test_nothing_offered_when_the_search_finds_nothing_fails_or_is_slow(
        world: World, search: Search, monkeypatch: pytest.MonkeyPatch) -> None:
    _, texts, _ = await ask_again(world)
    assert texts == []
    search.fail = RuntimeError("the model is broken")
    _, texts, _ = await ask_again(world, "printer offline")
    assert texts == [] and world.store.asks()[-1].message is not None  # posted all the same
    search.fail = None
    search.delay = 1.0
    monkeypatch.setattr(memory, "SEARCH_SECONDS", 0.05)
    search.matches = [Match(await solved_before(world), 0.9)]
    _, texts, _ = await ask_again(world, "vpn again")
    assert texts == []


async def test_suggestions_off_asks_no_search(world: World, search: Search) -> None:
    world.store.put_settings(Settings(suggestions=SuggestionMode.OFF))
    await ask_again(world)
    assert search.asked == []


async def test_an_answer_from_another_private_channel_is_never_offered(
        world: World, search: Search) -> None:
    world.chat.private_channels.add("C_SECRET")
    secret = await solved_before(world, "board room VPN", channel="C_SECRET")
    public = await solved_before(world)
    search.matches = [Match(secret, 0.9), Match(public, 0.7)]  # a search that got it wrong
    _, texts, _ = await ask_again(world)
    assert len(texts) == 1 and "board room" not in texts[0]
    _, texts, _ = await ask_again(world, channel="C_SECRET")
    assert len(texts) == 2 and "board room" in texts[0]


async def test_an_answer_reused_is_offered_as_the_original_once(world: World, search: Search) -> None:
    old = await solved_before(world)
    search.matches = [Match(old, 0.8)]
    first, _, _ = await ask_again(world)
    await world.handle(ReuseAnswer(WS, member(OTHER), first, old))
    again = world.store.answers()[-1]
    assert again.same_as == old and again.ask_id == first
    search.matches = [Match(again.id, 0.9), Match(old, 0.6)]
    ask_id, _, reply = await ask_again(world, "the vpn cuts out", asker=ADMIN)
    [shown] = offered(reply)
    assert [b.value for b in shown.buttons] == [f"{ask_id}:{old}"] * 2
    async with world.store.uow() as uow:
        shown = await uow.answers.suggestion(WS, ask_id, old)
    assert shown is not None and shown.chance == 0.9


# --- "This solved it" and "Not it" -----------------------------------------------------


async def test_this_solved_it_resolves_as_answered_before_and_thanks_the_helpers_again(
        world: World, search: Search) -> None:
    old = await solved_before(world, helpers=(HELPER, HELPER2))
    search.matches = [Match(old, 0.8)]
    ask_id, _, _ = await ask_again(world)
    world.clock.advance(timedelta(minutes=5))
    reply = await world.handle(ReuseAnswer(WS, member(OTHER), ask_id, old))
    assert reply.ok and "resolved as answered before" in reply_text(reply)
    assert Mention(HELPER) in parts(reply.private[0])
    ask = world.store.ask(ask_id)
    assert ask.status is AskStatus.RESOLVED
    assert world.chat.updates_of(card(ask))[-1].title == "Resolved ask"
    assert "answered before" in world.chat.replies_to(card(ask))[-1].plain_text()
    kept = world.store.answers()[-1]
    assert (kept.ask_id, kept.same_as, kept.note, kept.question) == (
        ask_id, old, "Update the VPN client to 5.2", "vpn keeps disconnecting")
    credit = [t for t in world.store.active_thanks() if t.ask_id == ask_id]
    assert {(t.giver_id, t.receiver_id, t.source) for t in credit} == {
        (OTHER, HELPER, ThanksSource.RESOLVE), (OTHER, HELPER2, ThanksSource.RESOLVE)}
    notes = [t for t in world.chat.told if t.user_id in (HELPER, HELPER2)]
    assert any("helped again by your earlier answer" in t.message.plain_text() for t in notes)
    async with world.store.uow() as uow:
        shown = await uow.answers.suggestion(WS, ask_id, old)
    assert shown is not None and shown.outcome is SuggestionOutcome.SOLVED
    # pressed again: nothing more happens
    again = await world.handle(ReuseAnswer(WS, member(OTHER), ask_id, old))
    assert "already resolved" in reply_text(again)
    assert len([t for t in world.store.active_thanks() if t.ask_id == ask_id]) == 2


async def test_an_anonymous_asker_stays_anonymous_to_the_helpers_thanked(
        world: World, search: Search) -> None:
    old = await solved_before(world)
    search.matches = [Match(old, 0.8)]
    await world.handle(CreateAsk(WS, member(OTHER), CHANNEL, "vpn drops", None, anonymous=True))
    ask_id = world.store.asks()[-1].id
    await world.handle(ReuseAnswer(WS, member(OTHER), ask_id, old))
    notes = [t.message for t in world.chat.told if t.user_id == HELPER]
    assert notes and all(Mention(OTHER) not in parts(m) for m in notes)


async def test_only_the_asker_and_only_an_answer_offered(world: World, search: Search) -> None:
    old = await solved_before(world)
    other = await solved_before(world, "Who orders laptops?", "IT, with the form")
    search.matches = [Match(old, 0.8)]
    ask_id, _, _ = await ask_again(world)
    for cmd, says in [
        (ReuseAnswer(WS, member(HELPER), ask_id, old), "Only the person who asked"),
        (ReuseAnswer(WS, member(OTHER), ask_id, other), "no longer remembered"),  # not offered
        (ReuseAnswer(WS, member(OTHER), 999, old), "no longer exists"),
        (RejectAnswer(WS, member(OTHER), ask_id, other), "no longer remembered"),
    ]:
        reply = await world.handle(cmd)
        assert not reply.ok and says in reply_text(reply)
    assert world.store.ask(ask_id).status is AskStatus.OPEN


async def test_not_it_is_recorded_once_and_the_ask_stays(world: World, search: Search) -> None:
    old = await solved_before(world)
    search.matches = [Match(old, 0.8)]
    ask_id, _, _ = await ask_again(world)
    reply = await world.handle(RejectAnswer(WS, member(OTHER), ask_id, old))
    assert reply.ok and "not it" in reply_text(reply)
    again = await world.handle(RejectAnswer(WS, member(OTHER), ask_id, old))
    assert "already answered" in reply_text(again)
    assert world.store.ask(ask_id).status is AskStatus.OPEN
    async with world.store.uow() as uow:
        shown = await uow.answers.shown_since(WS, world.clock.now() - timedelta(days=1))
    assert [(s.ask_id, s.answer_id, s.outcome) for s in shown] == [
        (ask_id, old, SuggestionOutcome.NOT_IT)]
    # and "This solved it" after "Not it" still works (the asker changed their mind)
    assert (await world.handle(ReuseAnswer(WS, member(OTHER), ask_id, old))).ok


async def test_the_buttons_read_back_and_forged_values_are_refused() -> None:
    press = pressed(Platform.SLACK, ActionId.REUSE_ANSWER.value, "12:34")
    assert press is not None
    assert press.command(WS, member(OTHER)) == ReuseAnswer(WS, member(OTHER), 12, 34)
    reject = pressed(Platform.DISCORD, ActionId.REJECT_ANSWER.value, "12:34")
    assert reject is not None and isinstance(reject.command(WS, member(OTHER)), RejectAnswer)
    for value in ("12", "12:", ":34", "12:U1", "0:3", "12:34:56", "1" * 19 + ":3"):
        assert pressed(Platform.SLACK, ActionId.REUSE_ANSWER.value, value) is None, value


async def test_the_library_reads_no_vector_when_none_was_made_since(
        world: World, search: Search, monkeypatch: pytest.MonkeyPatch) -> None:
    """A search whose index is up to date costs one statement: the count and the newest
    time, no read of the vectors."""
    await solved_before(world)
    await world.handle(RunAnswerIndexing())
    reads: list[datetime | None] = []
    real = FakeAnswerRepository.vectors

    async def counted(self: FakeAnswerRepository, *args: Any, **kwargs: Any) -> list[AnswerVector]:
        reads.append(args[2] if len(args) > 2 else kwargs.get("after"))
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(FakeAnswerRepository, "vectors", counted)
    library = memory._Library(world.deps, WS, MODEL)
    count, page = await library.vectors(None)
    assert count == 1 and len(page) == 1 and reads == [None]
    newest = page[0].made_at
    assert await library.vectors(newest) == (1, [])
    assert await library.vectors(None, 0, 0) == (1, [])  # how many, and nothing else
    assert reads == [None]
    assert (await library.vectors(newest - timedelta(seconds=1)))[1] == page
    assert reads == [None, newest - timedelta(seconds=1)]


# --- background vectors -----------------------------------------------------------------


async def test_vectors_are_made_for_answers_without_and_again_when_a_note_changes(
        world: World, search: Search) -> None:
    old = await solved_before(world)
    async with world.store.uow() as uow:
        await uow.answers.add(NewAnswer(WS, "Who orders laptops?", world.clock.now(), note="IT"))
        await uow.commit()
    await world.handle(RunAnswerIndexing())
    assert search.vectorized == [("The VPN drops every few minutes", "Update the VPN client to 5.2"),
                                 ("Who orders laptops?", "IT")]
    async with world.store.uow() as uow:
        assert (await uow.answers.vector_state(WS, MODEL))[0] == 2
    await world.handle(RunAnswerIndexing())
    assert len(search.vectorized) == 2  # nothing left to make
    ask = world.store.ask(world.store.answers()[0].ask_id or 0)
    world.clock.advance(timedelta(minutes=1))
    await world.handle(ResolveAsk(WS, member(ASKER), ask.id, "Reinstall the client"))
    await world.handle(RunAnswerIndexing())
    assert search.vectorized[-1] == ("The VPN drops every few minutes", "Reinstall the client")
    assert old == world.store.answers()[0].id


async def test_no_vectors_for_a_workspace_with_suggestions_off_nor_without_a_search(
        world: World, search: Search) -> None:
    world.store.put_settings(Settings(suggestions=SuggestionMode.OFF))
    await solved_before(world)
    await world.handle(RunAnswerIndexing())
    assert search.vectorized == []
    world.store.put_settings(Settings())
    without = make_world(store=world.store)
    assert (await without.handle(RunAnswerIndexing())).private == ()
    assert search.vectorized == []


async def test_a_reply_marked_as_the_answer_is_offered_with_its_author(
        world: World, search: Search) -> None:
    ask = await open_ask(world, text="The VPN drops every few minutes")
    reply_ref = MessageRef(CHANNEL, "99.1")
    await world.handle(MarkAnswer(WS, member(ASKER), reply_ref, Person(HELPER2),
                                  "Update the client", thread=card(ask)))
    answer = world.store.answers()[-1]
    search.matches = [Match(answer.id, 0.8)]
    _, _, reply = await ask_again(world, channel=OTHER_CHANNEL)
    [shown] = offered(reply)
    assert Mention(HELPER2) in parts(shown) and "Update the client" in shown.plain_text()


# --- the weekly post --------------------------------------------------------------------


async def weekly_post(world: World) -> Message:
    async with world.store.uow() as uow:
        post, _ = await build_post(uow, world.deps, WS, CHANNEL, (), 0, world.clock.now())
    assert post.kind is MessageKind.WEEKLY_POST
    return post


async def test_the_weekly_post_tells_what_was_answered_from_memory_and_what_keeps_coming_back(
        world: World, search: Search) -> None:
    old = await solved_before(world, helpers=(HELPER, HELPER2))
    bare = await solved_before(world, "Who can reset the build cache?", note=None)
    await world.handle(SetNamed(WS, member(HELPER2), named=False))
    search.matches = [Match(old, 0.8)]
    reused, _, _ = await ask_again(world)
    await world.handle(ReuseAnswer(WS, member(OTHER), reused, old))
    search.matches = [Match(bare, 0.7)]
    await ask_again(world, "build cache needs a reset again, who can do it?")
    await ask_again(world, "who resets the build cache these days?", asker=ADMIN)
    await ask_again(world, "elsewhere: who resets the build cache?", channel=OTHER_CHANNEL)
    post = await weekly_post(world)
    text = post.plain_text()
    assert "Asked again: 1 ask answered from memory, thanks again to" in text
    [said] = [line for line in post.lines if "answered from memory" in render_line(line, {})]
    assert Mention(HELPER) in said and Mention(HELPER2) not in said  # not named: left out
    assert "Keeps coming back, and nobody has written down what solved it:" in text
    assert "• Who can reset the build cache?" in text
    assert text.count("• Who can reset the build cache?") == 1


async def test_a_quiet_week_for_memory_adds_nothing_to_the_weekly_post(world: World) -> None:
    await open_ask(world)
    post = await weekly_post(world)
    assert "answered from memory" not in post.plain_text()
    assert "Keeps coming back" not in post.plain_text()

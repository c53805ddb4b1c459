"""The outbox: messages written with their change, sent once, in order, notes gathered."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot import outbox
from bot.commands import CreateAsk, OfferHelp, Person, ReactionAdded, ResolveAsk, ThankMembers
from bot.domain import AskStatus, CloseReason, MessageRef, NewInboxItem, Settings, WorkspaceRef
from bot.messages import (
    ActionId,
    Button,
    ButtonStyle,
    Link,
    Mention,
    Message,
    MessageKind,
    UserText,
    line,
    notice,
)
from bot.outbox import Outbox, decode_message, encode_message, sending_now
from bot.service import Leanon
from bot.thanks import record_reactions
from tests.unit.fakes import (
    ASKER,
    CHANNEL,
    HELPER,
    HELPER2,
    OTHER,
    WS,
    FakeChat,
    FakeInboxRepository,
    FixedClock,
    World,
    make_world,
    member,
    offer,
    open_ask,
    reply_text,
)


def thanked(giver: str, n: int) -> ReactionAdded:
    return ReactionAdded(WS, member(giver), Person(HELPER), MessageRef(CHANNEL, f"17.{n}"), "pray")


def notes_to(world: World, user_id: str) -> list[Message]:
    return [m for m in world.chat.told_to(user_id) if m.kind is MessageKind.THANKS_NOTE]


async def test_thanks_within_the_window_reach_their_receiver_as_one_note(world: World) -> None:
    await world.handle(thanked(ASKER, 1))
    assert len(notes_to(world, HELPER)) == 1  # the first one at once

    world.clock.advance(timedelta(seconds=10))
    await world.handle(thanked(OTHER, 2))
    world.clock.advance(timedelta(seconds=10))
    await world.handle(ThankMembers(WS, member(HELPER2), CHANNEL, (Person(HELPER),), "the review"))
    assert len(notes_to(world, HELPER)) == 1  # gathering until a minute after the first

    world.clock.advance(timedelta(seconds=40))
    await world.app.outbox.drain()
    _, gathered = notes_to(world, HELPER)
    assert len(gathered.lines) == 2 and gathered.title == "You were thanked 2 times"
    givers = [p.user_id for ln in gathered.lines for p in ln if isinstance(p, Mention)]
    assert givers == [OTHER, HELPER2]

    world.clock.advance(timedelta(minutes=5))  # a quiet while later: at once again
    await world.handle(thanked(ASKER, 3))
    assert len(notes_to(world, HELPER)) == 3


async def test_a_flood_of_thanks_gathers_into_one_bounded_note(world: World) -> None:
    """A hundred teammates thank one message within the minute: one note says how many,
    names the first few, and the waiting item stays small (it is read and written again
    for every batch of reactions: kept whole, that grew with the square of the flood)."""
    await world.handle(thanked(ASKER, 0))
    for n in range(1, 101):
        await world.handle(thanked(f"U{n:04d}", n))
    [waiting] = [row for row in world.store.data.inbox.values()
                 if row.new.kind == "note" and row.done_at is None]
    assert len(waiting.payload) < 3_000
    world.clock.advance(timedelta(minutes=1))
    await world.app.outbox.drain()
    _, gathered = notes_to(world, HELPER)
    assert gathered.title == "You were thanked 100 times"
    givers = [p.user_id for ln in gathered.lines for p in ln if isinstance(p, Mention)]
    assert givers == [f"U{n:04d}" for n in range(1, outbox.NOTE_LINES + 1)]
    assert gathered.plain_text().endswith(f"…and {100 - outbox.NOTE_LINES} more.")


async def test_the_dispatcher_is_woken_only_for_what_is_due_at_once(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reaction whose note gathers with others writes nothing due: the dispatcher is not
    woken for it (on SQLite each wake is a write transaction that the next batch of
    reactions waits for); a first note, due at once, wakes it."""
    wakes: list[str] = []
    monkeypatch.setattr(world.app.outbox, "wake", lambda: wakes.append("woken"))
    await world.app.handle(thanked(ASKER, 1))
    assert wakes == ["woken"]
    for n in range(2, 6):
        await world.app.handle(thanked(f"U{n:04d}", n))
    assert wakes == ["woken"]
    await world.app.handle(replace(thanked(ASKER, 6), author=Person(OTHER)))
    assert wakes == ["woken", "woken"]
    await world.app.handle(CreateAsk(WS, member(ASKER), CHANNEL, "how do I rotate keys?"),
                           send=False)
    assert wakes == ["woken"] * 3


async def test_a_note_gathering_reads_nothing_of_earlier_notes(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the last note was sent matters only to a member with none gathering: a batch
    of reactions whose receivers' notes are all gathering reads the inbox once."""
    asked: list[list[str]] = []
    real = FakeInboxRepository.last_done_in_groups

    async def counted(self: FakeInboxRepository, groups: Collection[str],
                      since: datetime) -> dict[str, datetime]:
        asked.append(list(groups))
        return await real(self, groups, since)

    monkeypatch.setattr(FakeInboxRepository, "last_done_in_groups", counted)
    await world.handle(thanked(ASKER, 1))  # sent at once: the next ones gather
    await world.handle(thanked(OTHER, 2))
    assert len(asked) == 2 and all(len(groups) == 1 for groups in asked)
    await record_reactions([thanked(f"U{n:04d}", n) for n in range(3, 8)], world.deps)
    assert len(asked) == 2
    await world.app.outbox.drain()
    world.clock.advance(timedelta(minutes=1))
    await world.app.outbox.drain()
    assert len(notes_to(world, HELPER)) == 2  # the gathered note names all six
    assert len(notes_to(world, HELPER)[1].lines) == 6


async def test_a_batch_thanking_many_members_writes_their_notes_at_once(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A burst of reactions to many members' messages: their first notes are one write."""
    writes: list[int] = []
    real = FakeInboxRepository.put_many

    async def counted(self: FakeInboxRepository, items: Sequence[NewInboxItem]) -> list[int | None]:
        writes.append(len(items))
        return await real(self, items)

    monkeypatch.setattr(FakeInboxRepository, "put_many", counted)
    receivers = [f"U{n:04d}" for n in range(20)]
    await record_reactions([replace(thanked(ASKER, n), author=Person(user))
                            for n, user in enumerate(receivers)], world.deps)
    assert writes == [20]
    await world.app.outbox.drain()
    assert all(len(notes_to(world, user)) == 1 for user in receivers)


async def test_notes_are_gathered_per_member(world: World) -> None:
    await world.handle(thanked(ASKER, 1))
    await world.handle(replace(thanked(HELPER2, 2), author=Person(OTHER)))
    assert len(notes_to(world, HELPER)) == 1 and len(notes_to(world, OTHER)) == 1


async def test_with_no_window_each_thanks_has_its_note() -> None:
    world = make_world()
    world = replace(world, app=Leanon(replace(world.deps, note_window=timedelta(0))))
    for n in range(3):
        await world.handle(thanked(ASKER, n))
    assert len(notes_to(world, HELPER)) == 3


async def test_the_receiver_note_setting_still_turns_notes_off(world: World) -> None:
    world.store.put_settings(Settings(receiver_dm=False))
    for n in range(3):
        await world.handle(thanked(ASKER, n))
    world.clock.advance(timedelta(minutes=2))
    await world.app.outbox.drain()
    assert notes_to(world, HELPER) == [] and len(world.store.active_thanks()) == 3


async def test_what_a_crash_left_unsent_is_sent_once_by_another_process(world: World) -> None:
    ask = await open_ask(world)
    # The change and its messages are committed; the process dies before sending them.
    await world.app.handle(ResolveAsk(WS, member(ASKER), ask.id), send=False)
    assert world.chat.updated == []
    other_process = Outbox(world.deps)
    await other_process.drain()
    await other_process.drain()
    await world.app.outbox.drain()
    [update] = world.chat.updated
    assert update.ref == ask.message and "Resolved" in update.message.plain_text()


async def test_a_commands_messages_leave_in_the_order_they_were_written(world: World) -> None:
    ask = await open_ask(world)
    world.chat.clear()
    calls: list[str] = []
    chat = world.chat
    for name in ("update", "reply", "tell"):
        original = getattr(chat, name)

        async def record(*args: object, _name: str = name, _original: object = original) -> object:
            calls.append(_name)
            return await _original(*args)  # type: ignore[operator]

        setattr(chat, name, record)
    await offer(world, ask, HELPER)
    assert calls == ["update", "reply", "tell"]


async def test_a_card_update_shows_the_ask_as_it_is_when_sent(world: World) -> None:
    ask = await open_ask(world)
    await world.app.handle(OfferHelp(WS, member(HELPER), ask.id), send=False)
    await world.app.handle(OfferHelp(WS, member(HELPER2), ask.id), send=False)
    await world.app.outbox.drain()
    # Both updates show both helpers: an older state never overwrites a newer one.
    updates = world.chat.updates_of(ask.message)
    assert len(updates) == 2
    assert all("2 people offered to help" in m.plain_text() for m in updates)


async def test_a_refused_note_is_not_tried_again(world: World,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    world.chat.fail("tell", permanent=True)
    with caplog.at_level(logging.WARNING):
        await world.handle(thanked(ASKER, 1))
    world.clock.advance(timedelta(minutes=10))
    world.chat.heal()
    await world.app.outbox.drain()
    assert notes_to(world, HELPER) == []
    assert any("note not sent" in r.getMessage() for r in caplog.records)


async def test_a_card_given_up_after_its_retries_withdraws_the_ask_and_tells_the_asker(
        world: World) -> None:
    world.chat.fail("post")  # an outage that does not pass
    reply = await world.handle(CreateAsk(WS, member(ASKER), CHANNEL, "How do I rotate keys?"))
    assert "Your ask is posted" in reply_text(reply)
    for _ in range(10):
        world.clock.advance(timedelta(seconds=61))
        await world.app.outbox.drain()
    [ask] = world.store.asks()
    assert ask.status is AskStatus.CLOSED and ask.close_reason is CloseReason.WITHDRAWN
    world.chat.heal()
    await world.app.outbox.drain()
    assert "could not post your ask" in world.chat.told_to(ASKER)[-1].plain_text()
    assert world.chat.posted == []


def test_messages_survive_their_encoding() -> None:
    ref = MessageRef("C1", "1700000000.000100")
    message = Message(
        kind=MessageKind.ASK_CARD, title="Asking for help",
        lines=(line("Asked by ", Mention("U1"), ": ", UserText("<!here> *bold*")),
               line("See ", Link(ref, "the card")), ()),
        buttons=(Button(line("Thank ", Mention("U2")), ActionId.THANK_HELPER, "7:U2",
                        ButtonStyle.PRIMARY),))
    assert decode_message(encode_message(message)) == message
    plain = notice(line("hi"))
    assert decode_message(encode_message(plain)) == plain


async def test_what_a_command_sends_at_once_no_other_worker_takes_unless_it_dies(
        world: World) -> None:
    with sending_now(world.app.outbox) as (written, _):
        async with world.deps.uow() as uow:
            await outbox.tell(uow, world.clock.now(), WS, CHANNEL, HELPER, notice(line("hi")))
            await uow.commit()
        async with world.deps.uow() as uow:  # rolled back: never sent
            await outbox.tell(uow, world.clock.now(), WS, CHANNEL, OTHER, notice(line("no")))
    [committed] = written.committed()
    other_process = Outbox(world.deps)
    await other_process.drain()
    assert world.chat.told == []  # stored as taken by the command's own sender

    world.clock.advance(timedelta(seconds=31))  # ... which died before sending it
    await other_process.drain()
    assert [w.user_id for w in world.chat.told] == [HELPER]
    await world.app.outbox.send_now([committed])  # too late for its sender: not sent twice
    assert [w.user_id for w in world.chat.told] == [HELPER]


class PacedChat(FakeChat):
    """A platform that takes three posts per channel, then one a second (`Paced`)."""

    def __init__(self, clock: FixedClock) -> None:
        super().__init__()
        self.clock = clock
        self.sent_at: dict[str, list[datetime]] = {}

    def pace(self, workspace: WorkspaceRef, kind: str, channel_id: str | None) -> float:
        sent = self.sent_at.setdefault(f"{kind}:{channel_id}", [])
        now = self.clock.now()
        recent = [t for t in sent if now - t < timedelta(seconds=3)]
        if len(recent) >= 3:
            return (recent[0] + timedelta(seconds=3) - now).total_seconds()
        sent.append(now)
        return 0.0


async def test_messages_over_the_platforms_pace_wait_their_turn_and_none_is_lost() -> None:
    clock = FixedClock()
    world = make_world(chat=PacedChat(clock), clock=clock)
    for n in range(20):
        await world.handle(ThankMembers(WS, member(f"U{n}"), CHANNEL, (Person(HELPER),)))
    assert len(world.chat.posted) == 3  # the rest wait for their slot
    for _ in range(25):  # waiting is not failing: nothing is given up
        clock.advance(timedelta(seconds=1))
        await world.app.outbox.drain()
    assert len(world.chat.posted) == 20
    texts = [p.message.plain_text() for p in world.chat.posted]
    assert len(set(texts)) == 20


async def test_a_batch_of_reactions_writes_one_note_per_receiver(world: World) -> None:
    batch = [thanked(ASKER, 1), thanked(OTHER, 2),
             replace(thanked(HELPER2, 3), author=Person(OTHER))]
    await record_reactions(batch, world.deps)
    waiting = [json.loads(row.payload) for row in world.store.data.inbox.values()
               if row.new.kind == "note"]
    assert sorted((w["user"], len(w["lines"])) for w in waiting) == [(HELPER, 2), (OTHER, 1)]
    await world.app.outbox.drain()
    assert len(notes_to(world, HELPER)) == 1 and len(notes_to(world, HELPER)[0].lines) == 2


async def test_items_an_earlier_version_wrote_under_old_names_are_still_sent(world: World) -> None:
    """A private message was once a "whisper", the weekly post's kind "encouragement": rows
    left in the outbox by an earlier version during an upgrade are sent all the same."""
    message = encode_message(notice(line("hello")))
    message["kind"] = "encouragement"
    async with world.deps.uow() as uow:
        await outbox.say(uow, world.clock.now(), WS, "whisper",
                         {"channel": CHANNEL, "user": HELPER, "message": message})
        await uow.commit()
    await world.app.outbox.drain()
    [told] = world.chat.told_to(HELPER)
    assert told.kind is MessageKind.WEEKLY_POST and told.plain_text() == "hello"

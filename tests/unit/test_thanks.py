"""Thanks: emoji reactions, /thanks, the daily allowance and the receiver's note."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.commands import (
    Person,
    ReactionAdded,
    ReactionRemoved,
    ShowStats,
    ThankMembers,
)
from bot.domain import Actor, MessageRef, Settings, ThanksSource
from bot.messages import Message, MessageKind, UserText
from bot.thanks import record_reactions
from tests.unit.fakes import (
    ASKER,
    BOT,
    CHANNEL,
    HELPER,
    HELPER2,
    OTHER,
    OTHER_WS,
    WS,
    World,
    card,
    make_world,
    member,
    mentions,
    open_ask,
    parts,
    reply_text,
)

GIVER = "U_GIVER"
AUTHOR = "U_AUTHOR"
MSG = MessageRef(CHANNEL, "1700000000.000100")


def react(giver: str = GIVER, author: str = AUTHOR, emoji: str = "pray", message: MessageRef = MSG,
          thread: MessageRef | None = None, *, giver_bot: bool = False,
          author_bot: bool = False) -> ReactionAdded:
    return ReactionAdded(WS, member(giver, bot=giver_bot), Person(author, is_bot=author_bot),
                         message, emoji, thread)


def unreact(giver: str = GIVER, author: str = AUTHOR, emoji: str = "pray",
            message: MessageRef = MSG) -> ReactionRemoved:
    return ReactionRemoved(WS, member(giver), Person(author), message, emoji)


async def received(world: World, user_id: str) -> str:
    """The "Thanks received" line of the member's /leanon stats."""
    reply = await world.handle(ShowStats(WS, member(user_id)))
    return next(ln for ln in reply.private[0].plain_text().splitlines()
                if ln.startswith("Thanks received"))


# --- reactions ----------------------------------------------------------------------------


@pytest.mark.parametrize("emoji", ["pray", "raised_hands"])
async def test_thanks_reaction_records_giver_to_author(world: World, emoji: str) -> None:
    reply = await world.handle(react(emoji=emoji))

    assert reply.private == ()  # reactions answer nothing
    [thanks] = world.store.all_thanks()
    assert (thanks.giver_id, thanks.receiver_id) == (GIVER, AUTHOR)
    assert thanks.source is ThanksSource.REACTION
    assert thanks.message == MSG and thanks.emoji == emoji
    assert thanks.ask_id is None and thanks.retracted_at is None
    assert thanks.created_at == world.clock.now()


async def test_reaction_on_an_ask_card_is_linked_to_the_ask(world: World) -> None:
    ask = await open_ask(world)
    await world.handle(react(author=HELPER, message=card(ask)))
    [thanks] = world.store.all_thanks()
    assert thanks.ask_id == ask.id and thanks.message == ask.message


async def test_reaction_in_an_ask_thread_is_linked_to_the_ask(world: World) -> None:
    ask = await open_ask(world)
    in_thread = MessageRef(CHANNEL, "1700000099.000200")
    await world.handle(react(giver=ASKER, author=HELPER, message=in_thread, thread=ask.message))
    [thanks] = world.store.all_thanks()
    assert thanks.ask_id == ask.id and thanks.message == in_thread
    assert (thanks.giver_id, thanks.receiver_id) == (ASKER, HELPER)


async def test_a_thread_is_looked_up_after_the_thanks_and_only_where_asks_are(
        world: World) -> None:
    in_thread = MessageRef(CHANNEL, "1700000099.000200")

    def unknown_thread(message: MessageRef) -> ReactionAdded:
        return replace(react(giver=ASKER, author=HELPER, message=message), thread_known=False)

    await world.handle(unknown_thread(in_thread))
    assert world.chat.thread_lookups == []  # no ask card in the channel: no thread to look for
    ask = await open_ask(world)
    elsewhere = MessageRef(CHANNEL, "1700000099.000300")
    world.chat.threads[elsewhere] = card(ask)
    await world.app.handle(unknown_thread(elsewhere))
    [_, recorded] = world.store.all_thanks()
    assert recorded.message == elsewhere and recorded.ask_id is None  # recorded already
    assert world.chat.thread_lookups == []  # the lookup waits for the outbox
    await world.app.outbox.drain()
    assert world.chat.thread_lookups == [elsewhere]
    assert world.store.all_thanks()[1].ask_id == ask.id
    await world.handle(unknown_thread(card(ask)))  # the card itself: linked directly
    assert world.chat.thread_lookups == [elsewhere]


async def test_failing_platform_calls_after_a_reaction_are_tried_again_and_the_thanks_stays(
        world: World) -> None:
    ask = await open_ask(world)
    plain = MessageRef(CHANNEL, "1700000099.000300")
    world.chat.threads[plain] = card(ask)
    world.chat.fail("tell", times=1)
    world.chat.fail("thread_of", times=1)
    reply = await world.handle(replace(react(message=plain), thread_known=False))  # no raise
    assert reply.private == () and len(world.store.active_thanks()) == 1
    assert world.chat.told_to(AUTHOR) == [] and world.store.active_thanks()[0].ask_id is None

    world.clock.advance(timedelta(seconds=2))  # the outbox's first retry
    await world.app.outbox.drain()
    assert len(world.chat.told_to(AUTHOR)) == 1
    assert world.store.active_thanks()[0].ask_id == ask.id


async def test_repeated_delivery_of_the_same_reaction_is_one_thanks(world: World) -> None:
    for _ in range(3):
        await world.handle(react())
    assert len(world.store.all_thanks()) == 1
    assert len(world.chat.told_to(AUTHOR)) == 1
    assert "Thanks received: 1 " in await received(world, AUTHOR)


async def test_each_emoji_and_each_giver_is_its_own_thanks(world: World) -> None:
    await world.handle(react(emoji="pray"))
    await world.handle(react(emoji="raised_hands"))
    await world.handle(react(giver=OTHER))
    assert len(world.store.active_thanks()) == 3


async def test_removing_the_reaction_retracts_the_thanks(world: World) -> None:
    await world.handle(react())
    world.clock.advance(timedelta(minutes=1))
    await world.handle(unreact())

    [thanks] = world.store.all_thanks()
    assert thanks.retracted_at == world.clock.now()  # kept, as retracted
    assert "Thanks received: 0 " in await received(world, AUTHOR)


async def test_removing_someone_elses_reaction_does_not_retract_mine(world: World) -> None:
    await world.handle(react())
    await world.handle(react(giver=OTHER))
    await world.handle(unreact(giver=OTHER))
    assert [t.giver_id for t in world.store.active_thanks()] == [GIVER]


async def test_adding_the_reaction_again_counts_once_again(world: World) -> None:
    await world.handle(react())
    await world.handle(unreact())
    await world.handle(react())
    await world.handle(react())  # and its replay

    [thanks] = world.store.all_thanks()
    assert thanks.retracted_at is None
    assert "Thanks received: 1 " in await received(world, AUTHOR)


@pytest.mark.parametrize("event", [
    react(giver=AUTHOR, author=AUTHOR),                    # thanking yourself
    react(author=BOT, author_bot=True),                    # thanking a bot (leanon included)
    react(giver=BOT, giver_bot=True),                      # a bot reacting
    react(emoji="thumbsup"),                               # not a thanks emoji
    react(emoji="Pray"),                                   # names are exact
], ids=["self", "bot-author", "bot-reactor", "other-emoji", "other-case"])
async def test_reactions_that_are_not_thanks_are_ignored_silently(world: World,
                                                                  event: ReactionAdded) -> None:
    reply = await world.handle(event)
    assert reply.private == ()
    assert world.store.all_thanks() == []
    assert world.chat.all_messages() == []


async def test_configured_emoji_replace_the_defaults(world: World) -> None:
    world.store.put_settings(Settings(thanks_emoji=("tada",)))
    await world.handle(react(emoji="pray"))
    await world.handle(react(emoji="tada"))
    assert [t.emoji for t in world.store.all_thanks()] == ["tada"]


async def test_removing_a_reaction_by_a_bot_does_nothing(world: World) -> None:
    await world.handle(react())
    await world.handle(ReactionRemoved(WS, Actor(GIVER, is_bot=True), Person(AUTHOR), MSG, "pray"))
    assert len(world.store.active_thanks()) == 1


async def test_receiver_is_told_privately_by_default(world: World) -> None:
    await world.handle(react())
    [tell] = world.chat.told
    assert (tell.user_id, tell.channel_id) == (AUTHOR, CHANNEL)
    assert tell.message.kind is MessageKind.THANKS_NOTE
    assert mentions(tell.message) == [GIVER] and ":pray:" in tell.message.plain_text()
    assert world.chat.posted == []  # a reaction posts nothing in the channel


async def test_receiver_is_not_told_when_the_setting_is_off(world: World) -> None:
    world.store.put_settings(Settings(receiver_dm=False))
    await world.handle(react())
    assert len(world.store.all_thanks()) == 1
    assert world.chat.told == []


async def test_thanks_is_recorded_even_when_the_note_cannot_be_sent(world: World) -> None:
    world.chat.fail("tell")
    await world.handle(react())
    assert len(world.store.active_thanks()) == 1


# --- the daily allowance ------------------------------------------------------------------


def messages(n: int) -> list[MessageRef]:
    return [MessageRef(CHANNEL, f"17000000{i:02}.000100") for i in range(n)]


# --- reactions written together (group commit) ---------------------------------------------


async def test_reactions_arriving_together_count_as_they_would_one_by_one(world: World) -> None:
    first, second = messages(2)
    replies = await asyncio.gather(
        *(world.handle(react(giver=f"U{n}", message=first)) for n in range(20)),
        world.handle(react(message=second)), world.handle(react(message=second)),  # a redelivery
        world.handle(react(giver=AUTHOR)),  # yourself: ignored
        world.handle(ReactionAdded(OTHER_WS, member(GIVER), Person(AUTHOR), first, "pray")))
    assert all(reply.private == () for reply in replies)
    assert len(world.store.active_thanks()) == 22
    world.clock.advance(timedelta(seconds=60))  # notes to one member within a minute: one
    await world.app.outbox.drain()
    here = [w.message for w in world.chat.told if w.user_id == AUTHOR and w.workspace == WS]
    # Every thanks counted, in as few notes as the batches they were written in.
    assert len(here) <= 2 and sum(_thanked_in(m) for m in here) == 21


def _thanked_in(note: Message) -> int:
    counted = re.fullmatch(r"You were thanked (\d+) times", note.title or "")
    return int(counted.group(1)) if counted else len(note.lines)


async def test_an_add_and_its_removal_in_one_batch_keep_their_order(world: World) -> None:
    first, second = messages(2)
    await record_reactions([react(message=first), unreact(message=first),
                            unreact(message=second), react(message=second)], world.deps)
    retracted = {t.message: t.retracted_at is not None for t in world.store.all_thanks()}
    assert retracted == {first: True, second: False}


async def test_a_batch_links_cards_and_threads_and_defers_the_lookups(world: World) -> None:
    ask = await open_ask(world)
    in_thread, plain = messages(2)
    batch = [react(author=HELPER, message=card(ask)),
             react(author=HELPER, message=in_thread, thread=ask.message),
             replace(react(author=HELPER, message=plain), thread_known=False)]
    await record_reactions(batch, world.deps)
    assert {t.message: t.ask_id for t in world.store.all_thanks()} == {
        card(ask): ask.id, in_thread: ask.id, plain: None}
    waiting = [row.new.kind for row in world.store.data.inbox.values() if row.done_at is None]
    assert sorted(waiting) == ["link_thread", "note"]  # the notes as one; one lookup


async def test_a_batch_holds_each_givers_allowance_in_arrival_order(world: World) -> None:
    world.store.put_settings(Settings(daily_allowance=2))
    first, second, third, fourth = messages(4)
    await record_reactions([react(message=first), react(message=second),
                            react(giver=OTHER, message=first), react(message=third),
                            react(message=first)], world.deps)  # a repeat: nothing new
    assert [(t.giver_id, t.message) for t in world.store.all_thanks()] == [
        (GIVER, first), (GIVER, second), (OTHER, first)]
    await world.app.outbox.drain()
    [told] = world.chat.told_to(GIVER)  # once: for the third, not for the repeat
    assert "allowance" in told.plain_text() and world.chat.told_to(OTHER) == []

    # Taking one back frees a place for today; yesterday's thanks, taken back and given
    # again, keeps its day and takes no place.
    await record_reactions([unreact(message=second), react(message=fourth)], world.deps)
    assert {t.message for t in world.store.active_thanks() if t.giver_id == GIVER} == {
        first, fourth}
    world.clock.advance(timedelta(days=1))
    fifth, sixth = messages(6)[4:]
    await record_reactions([react(message=fifth), react(message=sixth),
                            react(message=second)], world.deps)  # yesterday's, revived
    assert {t.message for t in world.store.active_thanks() if t.giver_id == GIVER} == {
        first, second, fourth, fifth, sixth}
    await world.app.outbox.drain()
    assert len(world.chat.told_to(GIVER)) == 1  # nobody told again


async def test_reaction_over_the_daily_allowance_is_not_recorded_and_the_giver_is_told(
        world: World) -> None:
    world.store.put_settings(Settings(daily_allowance=2))
    first, second, third = messages(3)
    await world.handle(react(message=first))
    await world.handle(react(message=second))
    world.chat.clear()

    reply = await world.handle(react(message=third))

    assert reply.private == ()
    assert [t.message for t in world.store.all_thanks()] == [first, second]
    [tell] = world.chat.told
    assert tell.user_id == GIVER and tell.message.kind is MessageKind.ERROR
    assert "allowance" in tell.message.plain_text()
    # Another giver has their own allowance.
    await world.handle(react(giver=OTHER, message=third))
    assert len(world.store.all_thanks()) == 3


async def test_replayed_reaction_at_the_limit_is_not_an_error(world: World) -> None:
    world.store.put_settings(Settings(daily_allowance=1))
    await world.handle(react())
    world.chat.clear()
    await world.handle(react())
    assert world.chat.told == []
    assert len(world.store.all_thanks()) == 1


async def test_allowance_renews_the_next_day(world: World) -> None:
    world.store.put_settings(Settings(daily_allowance=1))
    first, second = messages(2)
    await world.handle(react(message=first))
    world.clock.advance(timedelta(days=1))
    await world.handle(react(message=second))
    assert len(world.store.active_thanks()) == 2


@pytest.mark.parametrize(("timezone", "recorded"), [("UTC", 1), ("Asia/Tokyo", 2)])
async def test_allowance_day_follows_the_configured_timezone(timezone: str, recorded: int) -> None:
    world = make_world(timezone=timezone)
    world.clock.set(datetime(2024, 3, 4, 14, 0, tzinfo=UTC))  # 23:00 in Tokyo
    world.store.put_settings(Settings(daily_allowance=1))
    first, second = messages(2)
    await world.handle(react(message=first))
    world.clock.advance(timedelta(hours=1, minutes=30))  # 15:30 UTC, 00:30 the next day in Tokyo
    await world.handle(react(message=second))
    assert len(world.store.active_thanks()) == recorded


# --- /thanks ------------------------------------------------------------------------------


def thank(*receivers: str | Person, reason: str | None = "for the review",
          event_id: str | None = "ev-1", giver: str = GIVER) -> ThankMembers:
    people = tuple(r if isinstance(r, Person) else Person(r) for r in receivers)
    return ThankMembers(WS, member(giver), CHANNEL, people, reason, event_id)


async def test_thanks_command_records_one_per_receiver_and_posts_one_public_note(
        world: World) -> None:
    reply = await world.handle(thank(HELPER, HELPER2, reason="the fast review"))

    assert reply.ok and mentions(reply.private[0]) == [HELPER, HELPER2]
    thanks = world.store.all_thanks()
    assert [(t.giver_id, t.receiver_id) for t in thanks] == [(GIVER, HELPER), (GIVER, HELPER2)]
    assert all(t.source is ThanksSource.COMMAND and t.reason == "the fast review" for t in thanks)
    [note] = world.chat.posted
    assert note.channel_id == CHANNEL and note.message.kind is MessageKind.THANKS_NOTE
    assert note.message.plain_text() == "@U_GIVER thanked @U_HELPER and @U_HELPER_TWO: the fast review"
    assert sorted(w.user_id for w in world.chat.told) == [HELPER, HELPER2]


async def test_thanks_command_leaves_out_the_giver_bots_and_repeats(world: World) -> None:
    reply = await world.handle(thank(HELPER, GIVER, Person(BOT, is_bot=True), HELPER))
    assert [t.receiver_id for t in world.store.all_thanks()] == [HELPER]
    assert mentions(world.chat.posted[0].message) == [GIVER, HELPER]
    assert "Left out: yourself and bots (a thanks is for a teammate)." in reply_text(reply)
    plain = await world.handle(thank(HELPER2, event_id="ev-2"))
    assert "Left out" not in reply_text(plain)


@pytest.mark.parametrize("receivers", [(GIVER,), (Person(BOT, is_bot=True),)])
async def test_thanking_only_yourself_or_a_bot_is_refused(world: World,
                                                          receivers: tuple[str | Person, ...]) -> None:
    reply = await world.handle(thank(*receivers))
    assert not reply.ok and "not yourself or a bot" in reply_text(reply)
    assert world.store.all_thanks() == [] and world.chat.posted == []


async def test_thanks_command_without_anyone_asks_who(world: World) -> None:
    reply = await world.handle(thank())
    assert not reply.ok and "/thanks @" in reply_text(reply)
    assert world.chat.posted == []


async def test_a_retried_thanks_command_records_nothing_twice(world: World) -> None:
    await world.handle(thank(HELPER, HELPER2, event_id="ev-42"))
    retry = await world.handle(thank(HELPER, HELPER2, event_id="ev-42"))
    assert retry.ok
    assert len(world.store.all_thanks()) == 2
    assert len(world.chat.posted) == 1 and len(world.chat.told) == 2
    await world.handle(thank(HELPER, event_id="ev-43"))  # a new command is a new thanks
    assert len(world.store.all_thanks()) == 3


async def test_thanks_reason_cannot_ping_anyone(world: World) -> None:
    reason = "<!channel> @here <@U1> <@U2|Jo Smith> <!subteam^S1|@devs> @everyone"
    await world.handle(thank(HELPER, reason=reason))
    stored = world.store.all_thanks()[0].reason or ""
    shown = [p.text for m in world.chat.all_messages() for p in parts(m) if isinstance(p, UserText)]
    assert shown
    for text in [stored, *shown]:
        for danger in ("<!channel>", "<@U1>", "<!", "<@", "@here", "@everyone"):
            assert danger not in text


async def test_reason_over_1000_characters_is_refused(world: World) -> None:
    reply = await world.handle(thank(HELPER, reason="r" * 1001))
    assert not reply.ok and "1,000" in reply_text(reply)
    assert world.store.all_thanks() == [] and world.chat.posted == []


async def test_thanks_command_over_the_allowance_records_and_posts_nothing(world: World) -> None:
    world.store.put_settings(Settings(daily_allowance=2))
    await world.handle(thank(HELPER, event_id="ev-1"))
    world.chat.clear()
    reply = await world.handle(thank(HELPER2, OTHER, event_id="ev-2"))
    assert not reply.ok and "allowance" in reply_text(reply)
    assert [t.receiver_id for t in world.store.all_thanks()] == [HELPER]
    assert world.chat.all_messages() == []


async def test_a_retried_thanks_command_at_the_limit_is_not_an_error(world: World) -> None:
    world.store.put_settings(Settings(daily_allowance=1))
    assert (await world.handle(thank(HELPER, event_id="ev-7"))).ok
    world.chat.clear()
    retry = await world.handle(thank(HELPER, event_id="ev-7"))
    assert retry.ok
    assert len(world.store.all_thanks()) == 1 and world.chat.all_messages() == []


async def test_thanks_command_without_reason_or_receiver_note(world: World) -> None:
    world.store.put_settings(Settings(receiver_dm=False))
    await world.handle(thank(HELPER, reason=None))
    assert world.chat.posted[0].message.plain_text() == "@U_GIVER thanked @U_HELPER"
    assert world.chat.told == []
    assert world.store.all_thanks()[0].reason is None


async def test_thanks_are_counted_in_stats_for_both_sides(world: World) -> None:
    await world.handle(thank(HELPER))
    await world.handle(react(giver=GIVER, author=HELPER))
    assert "Thanks received: 2 " in await received(world, HELPER)
    reply = await world.handle(ShowStats(WS, member(GIVER)))
    assert "Thanks given: 2" in reply_text(reply)


# --- what the delivery did not say: the core asks the platform's directory -----------------


async def test_a_reaction_asks_the_directory_who_is_a_bot_only_for_a_thanks_emoji(
        world: World) -> None:
    """Slack's reaction events don't say who is a bot: the core asks (after the cheap
    checks: not your own message, a thanks emoji) and a bot's reaction thanks nobody."""
    unsaid = ReactionAdded(WS, Actor(GIVER), Person(AUTHOR), MSG, "pray")
    world.chat.bots.add(AUTHOR)
    reply = await world.handle(unsaid)
    assert reply.ignored and world.store.active_thanks() == []
    assert world.chat.asked == [("is_bot", GIVER), ("is_bot", AUTHOR)]

    world.chat.asked.clear()
    for ignored in (replace(unsaid, emoji="eyes"), replace(unsaid, author=Person(GIVER))):
        assert (await world.handle(ignored)).ignored
    assert world.chat.asked == []  # neither was worth a look-up

    world.chat.bots.clear()
    assert not (await world.handle(unsaid)).ignored
    assert [t.receiver_id for t in world.store.active_thanks()] == [AUTHOR]


async def test_a_bot_reacting_is_not_asked_about_the_author(world: World) -> None:
    world.chat.bots.add(GIVER)
    reply = await world.handle(ReactionAdded(WS, Actor(GIVER), Person(AUTHOR), MSG, "pray"))
    assert reply.ignored and world.chat.asked == [("is_bot", GIVER)]


async def test_thanks_asks_the_directory_which_named_members_are_bots(world: World) -> None:
    world.chat.bots.add(BOT)
    reply = await world.handle(ThankMembers(WS, Actor(GIVER), CHANNEL,
                                            (Person(HELPER), Person(BOT)), None, "e1"))
    assert [t.receiver_id for t in world.store.active_thanks()] == [HELPER]
    assert "Left out: bots" in reply_text(reply)
    assert ("is_bot", GIVER) not in world.chat.asked  # members type commands

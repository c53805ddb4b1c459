"""Asks: /ask, I can help, Resolved, the thank buttons, listing, follow-ups and expiry."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.commands import (
    CreateAsk,
    ForgetMe,
    ListAsks,
    MarkAnswer,
    OfferHelp,
    Person,
    ResolveAsk,
    RunAskMaintenance,
    ThankHelper,
)
from bot.domain import (
    Actor,
    Ask,
    AskStatus,
    CloseReason,
    MessageRef,
    Settings,
    ThanksSource,
    WorkspaceRef,
)
from bot.messages import ActionId, Mention, MessageKind, Reply, UserText
from tests.unit.fakes import (
    ADMIN,
    ASKER,
    BOT,
    CHANNEL,
    GOOD_QUESTION,
    HELPER,
    HELPER2,
    OTHER,
    OTHER_CHANNEL,
    OTHER_WS,
    WS,
    FakeAskRepository,
    World,
    card,
    member,
    mentions,
    offer,
    open_ask,
    parts,
    reply_text,
    reveals,
)

# --- /ask ---------------------------------------------------------------------------------


async def test_ask_posts_a_card_with_buttons_and_answers_privately(world: World) -> None:
    reply = await world.handle(CreateAsk(WS, member(ASKER), CHANNEL, GOOD_QUESTION))

    assert reply.ok
    assert "posted" in reply_text(reply)
    [post] = world.chat.posted
    assert (post.workspace, post.channel_id) == (WS, CHANNEL)
    card = post.message
    assert card.kind is MessageKind.ASK_CARD
    assert UserText(GOOD_QUESTION) in list(parts(card))
    assert mentions(card) == [ASKER]
    [ask] = world.store.asks()
    assert [(b.action, b.value) for b in card.buttons] == [
        (ActionId.OFFER_HELP, str(ask.id)), (ActionId.RESOLVE, str(ask.id))]
    assert [text_of_label(b.label) for b in card.buttons] == ["I can help", "Resolved"]
    assert ask.status is AskStatus.OPEN
    assert ask.asker_id == ASKER and ask.channel_id == CHANNEL and not ask.anonymous
    assert ask.created_at == world.clock.now()
    assert ask.message == post.ref
    # The answer is private: nothing but the card went to the channel.
    assert world.chat.told == [] and world.chat.replies == []


def text_of_label(label: tuple[object, ...]) -> str:
    return "".join(str(p) for p in label)


async def test_what_i_tried_is_shown_on_the_card(world: World) -> None:
    await open_ask(world, tried="Restarted the service and read the runbook")
    card = world.chat.posted[0].message
    assert UserText("Restarted the service and read the runbook") in list(parts(card))
    assert world.store.asks()[0].tried == "Restarted the service and read the runbook"


async def test_anonymous_ask_shows_someone_and_never_reveals_the_asker(world: World) -> None:
    ask = await open_ask(world, anonymous=True)
    card = world.chat.posted[0].message
    assert "Asked by someone" in card.plain_text()
    assert world.store.ask(ask.id).asker_id == ASKER  # still known, so they can resolve

    replies = [
        await offer(world, ask, HELPER),
        await world.handle(ListAsks(WS, member(OTHER), CHANNEL)),
        await resolve_with_writers(world, ask, OTHER),
        await world.handle(ThankHelper(WS, member(ASKER), ask.id, HELPER)),
        await world.handle(ThankHelper(WS, member(ASKER), ask.id, OTHER)),
    ]

    assert world.chat.posted and world.chat.updated and world.chat.replies
    for message in world.chat.all_messages():
        assert not reveals(message, ASKER), message
    for call in [*world.chat.posted, *world.chat.updated, *world.chat.replies]:
        assert ASKER not in repr(call)
    # Private notes to the asker are addressed to them, but never name them either.
    assert world.chat.told_to(ASKER)
    # What the helpers see (thanks notes) says "the person you helped".
    assert "The person you helped" in world.chat.told_to(HELPER)[-1].plain_text()
    # The lists and refusals other members get privately do not name the asker.
    for other_reply in (replies[0], replies[1]):
        for message in other_reply.private:
            assert not reveals(message, ASKER)


async def test_anonymous_asker_is_never_in_a_log_line(world: World,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ask = await open_ask(world, anonymous=True)
    for method in ("update", "reply", "tell"):
        world.chat.fail(method)  # failures are logged: they must not name the asker
    await offer(world, ask, HELPER)
    await world.handle(ResolveAsk(WS, member(ADMIN, admin=True), ask.id))
    await world.handle(ThankHelper(WS, member(ASKER), ask.id, HELPER))
    world.clock.advance(timedelta(days=15))
    await open_ask(world, anonymous=True, text="Anyone know why the VPN drops every hour?")
    world.clock.advance(timedelta(hours=3))
    await world.handle(RunAskMaintenance())

    assert caplog.records  # something was logged
    for record in caplog.records:
        assert ASKER not in record.getMessage()


async def test_anonymous_ask_resolved_by_an_admin_stays_anonymous(world: World) -> None:
    ask = await open_ask(world, anonymous=True)
    await offer(world, ask, HELPER)
    reply = await world.handle(ResolveAsk(WS, member(ADMIN, admin=True), ask.id))
    assert reply.ok
    assert not any(reveals(m, ASKER) for m in reply.private)
    assert not any(reveals(m, ASKER) for m in world.chat.public_messages())


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "\x00\x07"])
async def test_ask_without_text_is_a_clear_error_and_nothing_happens(world: World, text: str) -> None:
    reply = await world.handle(CreateAsk(WS, member(ASKER), CHANNEL, text))
    assert not reply.ok
    assert "/ask" in reply_text(reply)
    assert world.chat.posted == [] and world.store.asks() == []


async def test_ask_over_3000_characters_is_refused(world: World) -> None:
    reply = await world.handle(CreateAsk(WS, member(ASKER), CHANNEL, "x" * 3001 + "?"))
    assert not reply.ok
    assert "3,000" in reply_text(reply) and "Nothing was posted" in reply_text(reply)
    assert world.chat.posted == [] and world.store.asks() == []


async def test_ask_of_exactly_3000_characters_is_posted(world: World) -> None:
    text = ("how do I " + "a" * 3000)[:2999] + "?"
    assert len(text) == 3000
    reply = await world.handle(CreateAsk(WS, member(ASKER), CHANNEL, text))
    assert reply.ok and len(world.chat.posted) == 1


async def test_what_i_tried_over_3000_characters_is_refused(world: World) -> None:
    reply = await world.handle(CreateAsk(WS, member(ASKER), CHANNEL, GOOD_QUESTION, tried="t" * 3001))
    assert not reply.ok and world.chat.posted == [] and world.store.asks() == []


async def test_eleventh_ask_in_an_hour_is_refused(world: World) -> None:
    for i in range(10):
        await open_ask(world, text=f"{GOOD_QUESTION} ({i})")
        world.clock.advance(timedelta(minutes=5))

    reply = await world.handle(CreateAsk(WS, member(ASKER), CHANNEL, GOOD_QUESTION))

    assert not reply.ok and "10 asks" in reply_text(reply)
    assert len(world.chat.posted) == 10 and len(world.store.asks()) == 10
    # Another member is not limited by the asker's asks.
    assert (await world.handle(CreateAsk(WS, member(OTHER), CHANNEL, GOOD_QUESTION))).ok
    # An hour after the first ask, one more is fine again.
    world.clock.advance(timedelta(minutes=15))
    assert (await world.handle(CreateAsk(WS, member(ASKER), CHANNEL, GOOD_QUESTION))).ok


async def test_anonymous_ask_is_refused_when_the_workspace_turned_it_off(world: World) -> None:
    world.store.put_settings(Settings(anonymous_asks=False))
    reply = await world.handle(CreateAsk(WS, member(ASKER), CHANNEL, GOOD_QUESTION, anonymous=True))
    assert not reply.ok and "Anonymous asks are turned off" in reply_text(reply)
    assert world.chat.posted == [] and world.store.asks() == []
    # Asking with a name still works.
    assert (await world.handle(CreateAsk(WS, member(ASKER), CHANNEL, GOOD_QUESTION))).ok


@pytest.mark.parametrize("text", [
    "deploy broken",                                        # very short
    "The staging deploy pipeline stopped working this morning",  # nothing question-like
])
async def test_vague_ask_is_posted_with_a_be_specific_tip(world: World, text: str) -> None:
    reply = await world.handle(CreateAsk(WS, member(ASKER), CHANNEL, text))
    assert reply.ok
    assert [m.kind for m in reply.private] == [MessageKind.NOTICE, MessageKind.TIP]
    assert "be specific" in reply_text(reply).lower()
    assert len(world.chat.posted) == 1 and world.store.asks()[0].text == text


async def test_specific_ask_gets_no_tip(world: World) -> None:
    reply = await world.handle(CreateAsk(WS, member(ASKER), CHANNEL, GOOD_QUESTION))
    assert [m.kind for m in reply.private] == [MessageKind.NOTICE]


async def test_mentions_in_ask_text_are_neutralised_before_they_are_stored_or_shown(
        world: World) -> None:
    await open_ask(world, text="@here <!channel> <@U999> how do I get access to the staging vault?",
                   tried="asked <!everyone>")
    ask = world.store.asks()[0]
    for text in (ask.text, ask.tried or ""):
        assert "<!" not in text and "<@" not in text and "@here" not in text
    shown = " ".join(p.text for p in parts(world.chat.posted[0].message) if isinstance(p, UserText))
    assert "@here" not in shown and "<!channel>" not in shown and "<@U999>" not in shown


async def test_card_that_cannot_be_posted_closes_the_ask_and_says_so(world: World) -> None:
    world.chat.fail("post", permanent=True)  # e.g. the bot is not in the channel
    reply = await world.handle(CreateAsk(WS, member(ASKER), CHANNEL, GOOD_QUESTION))

    assert not reply.ok and "could not post" in reply_text(reply)
    [ask] = world.store.asks()
    assert ask.status is AskStatus.CLOSED and ask.close_reason is CloseReason.WITHDRAWN
    assert ask.message is None
    listed = await world.handle(ListAsks(WS, member(OTHER), CHANNEL))
    assert "No open asks" in reply_text(listed)


async def test_a_card_that_meets_an_outage_is_posted_once_when_it_passes(world: World) -> None:
    world.chat.fail("post", times=1)  # a 5xx: it may pass
    reply = await world.handle(CreateAsk(WS, member(ASKER), CHANNEL, GOOD_QUESTION))
    assert reply.ok and "Your ask is posted" in reply_text(reply)
    [ask] = world.store.asks()
    assert ask.is_open and ask.message is None and world.chat.posted == []

    world.clock.advance(timedelta(seconds=2))  # the outbox's first retry
    await world.app.outbox.drain()
    [posted] = world.chat.posted
    assert world.store.ask(ask.id).message == posted.ref and posted.nonce == f"ask:{ask.id}"
    await world.app.outbox.drain()
    assert len(world.chat.posted) == 1


# --- I can help ---------------------------------------------------------------------------


async def test_offer_help_records_updates_card_tells_asker_and_replies_in_thread(
        world: World) -> None:
    ask = await open_ask(world)

    reply = await offer(world, ask, HELPER)

    assert reply.ok and "Thank you for offering" in reply_text(reply)
    assert [(o.ask_id, o.helper_id) for o in world.store.offers()] == [(ask.id, HELPER)]
    [card] = world.chat.updates_of(ask.message)
    assert "1 person offered to help: @U_HELPER" in card.plain_text()
    assert {b.action for b in card.buttons} == {ActionId.OFFER_HELP, ActionId.RESOLVE}
    [told] = world.chat.told_to(ASKER)
    assert mentions(told) == [HELPER] and GOOD_QUESTION[:40] in told.plain_text()
    assert world.chat.told[0].channel_id == CHANNEL
    [thread] = world.chat.replies_to(ask.message)
    assert mentions(thread) == [HELPER]


async def test_second_press_of_i_can_help_changes_nothing(world: World) -> None:
    ask = await open_ask(world)
    await offer(world, ask, HELPER)
    before = (len(world.chat.updated), len(world.chat.told), len(world.chat.replies))

    reply = await offer(world, ask, HELPER)

    assert "already offered" in reply_text(reply)
    assert len(world.store.offers()) == 1
    assert (len(world.chat.updated), len(world.chat.told), len(world.chat.replies)) == before


async def test_card_counts_two_people(world: World) -> None:
    ask = await open_ask(world)
    await offer(world, ask, HELPER)
    await offer(world, ask, HELPER2)
    card = world.chat.updates_of(ask.message)[-1]
    assert "2 people offered to help: @U_HELPER and @U_HELPER_TWO" in card.plain_text()


async def test_asker_cannot_offer_help_on_their_own_ask(world: World) -> None:
    ask = await open_ask(world)
    reply = await offer(world, ask, ASKER)
    assert not reply.ok and "your own ask" in reply_text(reply)
    assert world.store.offers() == [] and world.chat.updated == []


async def test_offer_on_a_resolved_ask_is_refused(world: World) -> None:
    ask = await open_ask(world)
    await world.handle(ResolveAsk(WS, member(ASKER), ask.id))
    updates = len(world.chat.updated)
    reply = await offer(world, ask, HELPER)
    assert not reply.ok and "already resolved" in reply_text(reply)
    assert world.store.offers() == [] and len(world.chat.updated) == updates


@pytest.mark.parametrize("workspace", [WS, OTHER_WS])
async def test_offer_on_an_unknown_ask_says_it_is_gone(world: World,
                                                       workspace: WorkspaceRef) -> None:
    ask = await open_ask(world)
    ask_id = ask.id if workspace == OTHER_WS else 999  # another workspace's ask is not ours
    reply = await world.handle(OfferHelp(workspace, member(HELPER), ask_id))
    assert not reply.ok and "no longer exists" in reply_text(reply)
    assert world.store.offers() == []


async def test_offer_is_kept_when_the_platform_fails_to_update_the_card(world: World) -> None:
    ask = await open_ask(world)
    world.chat.fail("update")
    world.chat.fail("reply")
    reply = await offer(world, ask, HELPER)
    assert reply.ok
    assert len(world.store.offers()) == 1
    assert len(world.chat.told_to(ASKER)) == 1  # one failure does not stop the rest


# --- Resolved -----------------------------------------------------------------------------


async def test_resolve_by_someone_else_is_politely_refused(world: World) -> None:
    ask = await open_ask(world)
    reply = await world.handle(ResolveAsk(WS, member(OTHER), ask.id))
    assert not reply.ok and "Only the person who asked" in reply_text(reply)
    assert world.store.ask(ask.id).status is AskStatus.OPEN
    assert world.chat.updated == [] and world.chat.told == []


async def test_resolve_by_the_asker_updates_card_and_offers_a_thank_button_per_helper(
        world: World) -> None:
    ask = await open_ask(world)
    await offer(world, ask, HELPER)
    await offer(world, ask, HELPER2)
    world.clock.advance(timedelta(minutes=30))
    told = len(world.chat.told)

    reply = await world.handle(ResolveAsk(WS, member(ASKER), ask.id))

    stored = world.store.ask(ask.id)
    assert stored.status is AskStatus.RESOLVED and stored.closed_at == world.clock.now()
    card = world.chat.updates_of(ask.message)[-1]
    assert card.title == "Resolved ask" and "Resolved" in card.plain_text()
    assert card.buttons == ()
    [prompt] = reply.private
    assert [(b.action, b.value) for b in prompt.buttons] == [
        (ActionId.THANK_HELPER, f"{ask.id}:{HELPER}"),
        (ActionId.THANK_HELPER, f"{ask.id}:{HELPER2}"),
    ]
    assert [b.label for b in prompt.buttons] == [("Thank ", Mention(HELPER)),
                                                  ("Thank ", Mention(HELPER2))]
    assert len(world.chat.told) == told  # the asker got it as the reply


async def test_resolve_without_helpers_prompts_to_thank_elsewhere(world: World) -> None:
    ask = await open_ask(world)
    reply = await world.handle(ResolveAsk(WS, member(ASKER), ask.id))
    [prompt] = reply.private
    assert prompt.buttons == () and "/thanks" in prompt.plain_text()


async def test_resolve_by_an_admin_tells_the_asker_the_thank_buttons(world: World) -> None:
    ask = await open_ask(world)
    await offer(world, ask, HELPER)
    world.chat.clear()

    reply = await world.handle(ResolveAsk(WS, member(ADMIN, admin=True), ask.id))

    assert reply.ok and all(m.buttons == () for m in reply.private)
    assert world.store.ask(ask.id).status is AskStatus.RESOLVED
    [tell] = world.chat.told
    assert (tell.user_id, tell.channel_id) == (ASKER, CHANNEL)
    assert [(b.action, b.value) for b in tell.message.buttons] == [
        (ActionId.THANK_HELPER, f"{ask.id}:{HELPER}")]


async def resolve_with_writers(world: World, ask: Ask, *writers: str) -> Reply:
    """The asker resolves `ask`, whose card's thread the platform says `writers` wrote in."""
    world.chat.writers[card(ask)] = writers
    return await world.handle(ResolveAsk(WS, member(ASKER), ask.id))


async def test_those_who_wrote_in_the_thread_get_thank_buttons_too(world: World) -> None:
    """The core asks the platform who wrote in the card's thread (`Directory`)."""
    ask = await open_ask(world)
    await offer(world, ask, HELPER)
    reply = await resolve_with_writers(world, ask, OTHER, HELPER, ASKER, OTHER)
    values = [b.value for b in reply.private[0].buttons]
    assert values == [f"{ask.id}:{HELPER}", f"{ask.id}:{OTHER}"]  # no duplicates, not the asker
    assert ("thread_authors", card(ask).message_id) in world.chat.asked


async def test_a_thread_the_platform_cannot_read_still_resolves(world: World) -> None:
    """The thread's writers unknown now: the ask is resolved, those who offered get their
    buttons, and nothing is left half done."""
    ask = await open_ask(world)
    await offer(world, ask, HELPER)
    world.chat.writers[card(ask)] = (OTHER,)
    world.chat.fail("thread_authors", times=1)
    reply = await world.handle(ResolveAsk(WS, member(ASKER), ask.id))
    assert [b.value for b in reply.private[0].buttons] == [f"{ask.id}:{HELPER}"]
    assert world.store.ask(ask.id).status is AskStatus.RESOLVED


async def test_an_admin_the_delivery_did_not_name_is_asked_of_the_platform(world: World) -> None:
    """Slack's deliveries don't say who is an admin (the actor's flag is None): the core
    asks the directory, once, only when the answer matters (not for the asker)."""
    ask = await open_ask(world)
    refused = await world.handle(ResolveAsk(WS, Actor(OTHER), ask.id))
    assert not refused.ok and world.chat.asked == [("is_admin", OTHER)]
    world.chat.asked.clear()
    await world.handle(ResolveAsk(WS, Actor(ASKER), ask.id))
    assert ("is_admin", ASKER) not in world.chat.asked
    world.chat.admins.add(ADMIN)
    ask2 = await open_ask(world)
    reply = await world.handle(ResolveAsk(WS, Actor(ADMIN), ask2.id))
    assert reply.ok and world.store.ask(ask2.id).status is AskStatus.RESOLVED


async def test_second_resolve_changes_nothing(world: World) -> None:
    ask = await open_ask(world)
    await world.handle(ResolveAsk(WS, member(ASKER), ask.id))
    updates = len(world.chat.updated)
    reply = await world.handle(ResolveAsk(WS, member(ASKER), ask.id))
    assert "already resolved" in reply_text(reply) and reply.private[0].buttons == ()
    assert len(world.chat.updated) == updates


# --- the thank buttons --------------------------------------------------------------------


async def test_thank_button_records_a_resolve_thanks_linked_to_the_ask_once(world: World) -> None:
    ask = await open_ask(world)
    await offer(world, ask, HELPER)
    await world.handle(ResolveAsk(WS, member(ASKER), ask.id))

    first = await world.handle(ThankHelper(WS, member(ASKER), ask.id, HELPER))
    second = await world.handle(ThankHelper(WS, member(ASKER), ask.id, HELPER))

    assert first.ok and "Thank-you sent" in reply_text(first)
    assert "already thanked" in reply_text(second)
    [thanks] = world.store.all_thanks()
    assert (thanks.giver_id, thanks.receiver_id) == (ASKER, HELPER)
    assert thanks.source is ThanksSource.RESOLVE and thanks.ask_id == ask.id
    assert thanks.message == ask.message
    [note] = world.chat.told_to(HELPER)
    assert note.kind is MessageKind.THANKS_NOTE and mentions(note) == [ASKER]


async def test_thank_buttons_work_only_for_the_asker(world: World) -> None:
    ask = await open_ask(world)
    await offer(world, ask, HELPER)
    await world.handle(ResolveAsk(WS, member(ASKER), ask.id))
    reply = await world.handle(ThankHelper(WS, member(OTHER), ask.id, HELPER))
    assert not reply.ok and "Only the person who asked" in reply_text(reply)
    assert world.store.all_thanks() == []


async def test_asker_cannot_thank_themselves_with_a_button(world: World) -> None:
    ask = await open_ask(world)
    reply = await world.handle(ThankHelper(WS, member(ASKER), ask.id, ASKER))
    assert not reply.ok and world.store.all_thanks() == []


# --- /leanon asks -------------------------------------------------------------------------


async def test_list_asks_shows_the_channels_open_asks_oldest_first(world: World) -> None:
    first = await open_ask(world, text="How do I get a staging database dump for testing?")
    world.clock.advance(timedelta(hours=1))
    await open_ask(world, text="Where is the runbook for the billing service outage?",
                   channel=OTHER_CHANNEL)
    world.clock.advance(timedelta(hours=1))
    resolved = await open_ask(world, asker=OTHER, text="Who can review the terraform change?")
    await world.handle(ResolveAsk(WS, member(OTHER), resolved.id))
    world.clock.advance(timedelta(hours=1))
    last = await open_ask(world, asker=HELPER, text="Why is the CI cache missing every run?")
    await offer(world, first, HELPER2)

    reply = await world.handle(ListAsks(WS, member(OTHER), CHANNEL))

    [listing] = reply.private
    assert listing.kind is MessageKind.LIST and "oldest first" in (listing.title or "")
    lines = [ln for ln in listing.plain_text().splitlines()[1:]]
    assert [ln.split(" · ")[0] for ln in lines] == [f"#{first.id}", f"#{last.id}"]
    assert "3h ago" in lines[0] and "1 offer" in lines[0] and "staging database dump" in lines[0]
    assert "no offers yet" in lines[1]
    everywhere = await world.handle(ListAsks(WS, member(OTHER), None))
    assert len(everywhere.private[0].lines) == 3


async def test_list_asks_says_when_there_are_none(world: World) -> None:
    reply = await world.handle(ListAsks(WS, member(OTHER), CHANNEL))
    assert "No open asks in this channel" in reply_text(reply)


# --- waiting asks: follow-up and expiry ---------------------------------------------------


async def test_waiting_ask_gets_exactly_one_follow_up_in_its_thread(world: World) -> None:
    ask = await open_ask(world)
    world.clock.advance(timedelta(hours=1, minutes=59))
    await world.handle(RunAskMaintenance())
    assert world.chat.replies == []

    world.clock.advance(timedelta(minutes=2))
    await world.handle(RunAskMaintenance())
    world.clock.advance(timedelta(hours=3))
    await world.handle(RunAskMaintenance())

    [follow_up] = world.chat.replies_to(ask.message)
    assert follow_up.kind is MessageKind.FOLLOW_UP and len(world.chat.replies) == 1
    assert world.store.ask(ask.id).follow_up_at is not None
    assert world.store.ask(ask.id).is_open


async def test_maintenance_running_twice_at_once_follows_up_and_expires_once(
        world: World) -> None:
    """Two replicas (or a slow run and the next) never double-post a follow-up."""
    old = await open_ask(world)
    world.clock.advance(timedelta(days=13, hours=22))
    waiting = await open_ask(world, text="Who owns the flaky payments integration test?")
    world.clock.advance(timedelta(hours=3))  # `old` is now past 14 days, `waiting` past 2 hours

    await asyncio.gather(world.handle(RunAskMaintenance()), world.handle(RunAskMaintenance()))

    assert [r.parent for r in world.chat.replies] == [waiting.message]
    assert [u.ref for u in world.chat.updated] == [old.message]
    assert world.store.ask(old.id).status is AskStatus.CLOSED


async def test_concurrent_resolves_resolve_once(world: World) -> None:
    ask = await open_ask(world)
    await offer(world, ask, HELPER)
    updates = len(world.chat.updated)
    by_asker, by_admin = await asyncio.gather(
        world.handle(ResolveAsk(WS, member(ASKER), ask.id)),
        world.handle(ResolveAsk(WS, member(ADMIN, admin=True), ask.id)))
    assert len(world.chat.updated) == updates + 1
    assert by_asker.private[0].buttons  # the first one wins, the other is told it is done
    assert "already resolved" in reply_text(by_admin)


async def test_resolve_that_read_a_stale_ask_changes_nothing(world: World,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Another worker resolved the ask after this one read it: the conditional close wins."""
    ask = await open_ask(world)
    await offer(world, ask, HELPER)
    await world.handle(ResolveAsk(WS, member(ASKER), ask.id))
    world.chat.clear()
    real_get = FakeAskRepository.get

    async def stale_get(self: FakeAskRepository, workspace: WorkspaceRef, ask_id: int) -> Ask:
        found = await real_get(self, workspace, ask_id)
        assert found is not None
        return replace(found, status=AskStatus.OPEN, closed_at=None)

    monkeypatch.setattr(FakeAskRepository, "get", stale_get)
    reply = await world.handle(ResolveAsk(WS, member(ADMIN, admin=True), ask.id))

    assert "already resolved" in reply_text(reply)
    assert world.chat.all_messages() == []


async def test_ask_with_an_offer_gets_no_follow_up(world: World) -> None:
    ask = await open_ask(world)
    await offer(world, ask, HELPER)
    world.chat.clear()
    world.clock.advance(timedelta(hours=5))
    await world.handle(RunAskMaintenance())
    assert world.chat.replies == []


async def test_follow_up_that_fails_is_not_retried_forever(world: World) -> None:
    await open_ask(world)
    world.clock.advance(timedelta(hours=3))
    world.chat.fail("reply", times=1)
    await world.handle(RunAskMaintenance())
    await world.handle(RunAskMaintenance())
    assert world.chat.replies == []  # one gentle follow-up at most, even when it failed


async def test_ask_open_longer_than_expire_after_is_closed_and_its_card_updated(
        world: World) -> None:
    ask = await open_ask(world)
    await offer(world, ask, HELPER)  # an offer does not keep an ask open forever
    world.clock.advance(timedelta(days=14, minutes=1))

    await world.handle(RunAskMaintenance())

    stored = world.store.ask(ask.id)
    assert stored.status is AskStatus.CLOSED and stored.close_reason is CloseReason.EXPIRED
    assert stored.closed_at == world.clock.now()
    card = world.chat.updates_of(ask.message)[-1]
    assert "Closed (expired)." in card.plain_text() and card.buttons == ()
    assert "@U_HELPER" in card.plain_text()
    updates = len(world.chat.updated)
    await world.handle(RunAskMaintenance())
    assert len(world.chat.updated) == updates


async def test_expired_ask_without_offers_is_closed_without_a_follow_up(world: World) -> None:
    ask = await open_ask(world)
    world.clock.advance(timedelta(days=15))
    await world.handle(RunAskMaintenance())
    assert world.store.ask(ask.id).status is AskStatus.CLOSED
    assert world.chat.replies == []


async def test_ask_younger_than_expire_after_stays_open(world: World) -> None:
    ask = await open_ask(world)
    world.clock.advance(timedelta(days=13, hours=23))
    await world.handle(RunAskMaintenance())
    assert world.store.ask(ask.id).is_open


async def test_workspace_stale_and_expire_settings_are_honoured(world: World) -> None:
    world.store.put_settings(Settings(stale_after=timedelta(minutes=30),
                                      expire_after=timedelta(hours=3)))
    world.store.put_settings(Settings(), OTHER_WS)
    ours = await open_ask(world)
    theirs = await open_ask(world, workspace=OTHER_WS)

    world.clock.advance(timedelta(minutes=31))
    await world.handle(RunAskMaintenance())
    assert [r.parent for r in world.chat.replies] == [ours.message]

    world.clock.advance(timedelta(hours=3))
    await world.handle(RunAskMaintenance())
    assert world.store.ask(ours.id).status is AskStatus.CLOSED
    assert world.store.ask(theirs.id).is_open
    assert [r.parent for r in world.chat.replies] == [ours.message, theirs.message]


# --- what solved it (leanon's memory) -------------------------------------------------------


async def test_resolving_keeps_the_ask_and_what_solved_it_in_memory(world: World) -> None:
    ask = await open_ask(world)
    reply = await world.handle(ResolveAsk(WS, member(ASKER), ask.id,
                                          note="  Rotate with `vault kv rotate`, ping <!here>  "))
    [kept] = world.store.answers()
    assert (kept.ask_id, kept.question, kept.channel_id) == (ask.id, ask.text, CHANNEL)
    assert kept.note is not None and kept.note.startswith("Rotate with `vault kv rotate`")
    assert "<!here>" not in kept.note  # mention-neutralised like everything else
    assert "Saved what solved it" in reply_text(reply) and reply.private[0].buttons == ()


async def test_an_ask_resolved_without_a_note_is_remembered_all_the_same(world: World) -> None:
    ask = await open_ask(world)
    await world.handle(ResolveAsk(WS, member(ASKER), ask.id))
    [kept] = world.store.answers()
    assert kept.ask_id == ask.id and kept.note is None and not kept.private


async def test_an_overlong_note_is_refused_and_nothing_changes(world: World) -> None:
    ask = await open_ask(world)
    reply = await world.handle(ResolveAsk(WS, member(ASKER), ask.id, note="x" * 1001))
    assert not reply.ok and "1,001 characters" in reply_text(reply)
    assert world.store.ask(ask.id).status is AskStatus.OPEN and world.store.answers() == []


async def test_what_solved_a_resolved_ask_can_be_said_later_by_its_asker_or_an_admin(
        world: World) -> None:
    ask = await open_ask(world)
    await world.handle(ResolveAsk(WS, member(ASKER), ask.id))
    refused = await world.handle(ResolveAsk(WS, member(OTHER), ask.id, note="a guess"))
    assert not refused.ok and world.store.answers()[0].note is None
    saved = await world.handle(ResolveAsk(WS, member(ADMIN, admin=True), ask.id,
                                          note="The runbook, step 4."))
    assert "saved" in reply_text(saved) and world.store.answers()[0].note == "The runbook, step 4."
    assert len(world.store.answers()) == 1


async def test_an_ask_in_a_private_channel_is_remembered_as_private(world: World) -> None:
    world.chat.private_channels.add(CHANNEL)
    ask = await open_ask(world)
    await world.handle(ResolveAsk(WS, member(ASKER), ask.id))
    assert world.store.answers()[0].private


async def test_an_expired_ask_is_not_remembered_as_answered(world: World) -> None:
    ask = await open_ask(world)
    await world.handle(ResolveAsk(WS, member(ASKER), ask.id, note="x"))  # resolved: kept
    other = await open_ask(world, text="Who owns the billing cron job and where are its logs?")
    world.clock.advance(timedelta(days=30))
    await world.handle(RunAskMaintenance())
    assert world.store.ask(other.id).status is AskStatus.CLOSED
    assert [a.ask_id for a in world.store.answers()] == [ask.id]


# --- a reply marked as the answer ------------------------------------------------------------


def marked(ask: Ask, who: str = ASKER, author: str = HELPER, text: str = "Run the rotate job.",
           thread: bool = True) -> MarkAnswer:
    reply = MessageRef(CHANNEL, "r99")
    return MarkAnswer(WS, member(who, admin=who == ADMIN), reply, Person(author), text,
                      card(ask) if thread else None)


async def test_a_reply_marked_as_the_answer_resolves_the_ask_and_credits_its_author(
        world: World) -> None:
    ask = await open_ask(world)
    reply = await world.handle(marked(ask, text="Run the rotate job, then <!channel> ping"))
    assert world.store.ask(ask.id).status is AskStatus.RESOLVED
    [kept] = world.store.answers()
    assert kept.note is not None and kept.note.startswith("Run the rotate job")
    assert "<!channel>" not in kept.note
    assert [o.helper_id for o in world.store.offers(ask.id)] == [HELPER]  # credited
    assert [b.value for b in reply.private[0].buttons] == [f"{ask.id}:{HELPER}"]


async def test_marking_on_a_resolved_ask_replaces_its_note_and_a_long_reply_is_cut(
        world: World) -> None:
    ask = await open_ask(world)
    await world.handle(ResolveAsk(WS, member(ASKER), ask.id, note="first guess"))
    await world.handle(marked(ask, who=ADMIN, author=HELPER2, text="word " * 400))
    [kept] = world.store.answers()
    assert kept.note is not None and len(kept.note) == 1000 and kept.note.endswith("…")
    assert [o.helper_id for o in world.store.offers(ask.id)] == [HELPER2]


async def test_the_thread_is_asked_of_the_platform_when_the_action_did_not_say(
        world: World) -> None:
    ask = await open_ask(world)
    world.chat.threads[MessageRef(CHANNEL, "r99")] = card(ask)
    await world.handle(marked(ask, thread=False))
    assert world.store.ask(ask.id).status is AskStatus.RESOLVED


@pytest.mark.parametrize(("change", "said"), [
    ({"who": OTHER}, "Only the person who asked"),
    ({"thread": False}, "works on a reply in an ask's thread"),
    ({"author": BOT}, "That message is a bot's"),
    ({"text": "   "}, "no text to keep"),
])
async def test_a_mark_that_cannot_be_taken_changes_nothing(
        world: World, change: dict[str, object], said: str) -> None:
    world.chat.bots.add(BOT)
    ask = await open_ask(world)
    reply = await world.handle(marked(ask, **change))  # type: ignore[arg-type]
    assert not reply.ok and said in reply_text(reply)
    assert world.store.ask(ask.id).status is AskStatus.OPEN and world.store.answers() == []
    assert world.store.offers(ask.id) == []


async def test_a_resolve_and_a_marked_answer_at_once_keep_the_answer_and_its_credit(
        world: World) -> None:
    """Whichever closes the ask first, what the other says still counts."""
    for _ in range(2):
        ask = await open_ask(world, text=f"How do I rotate key {ask_count(world)} safely?")
        await asyncio.gather(world.handle(ResolveAsk(WS, member(ASKER), ask.id)),
                             world.handle(marked(ask, text="Use the rotate job.")))
        assert world.store.ask(ask.id).status is AskStatus.RESOLVED
        [kept] = [a for a in world.store.answers() if a.ask_id == ask.id]
        assert kept.note == "Use the rotate job."
        assert [o.helper_id for o in world.store.offers(ask.id)] == [HELPER]


def ask_count(world: World) -> int:
    return len(world.store.asks())


async def test_forget_me_takes_a_members_words_out_of_leanons_memory(world: World) -> None:
    """The helper whose reply was marked as the answer forgets themselves: the note was
    their words and goes; the asker who keeps their asks anonymously keeps their own note."""
    theirs = await open_ask(world)
    await world.handle(marked(theirs, author=HELPER, text="Use the rotate job."))
    mine = await open_ask(world, asker=HELPER, text="Who owns the billing cron job and why?")
    await world.handle(ResolveAsk(WS, member(HELPER), mine.id, note="Ops owns it."))
    await world.handle(ForgetMe(WS, member(HELPER), keep_asks=True))
    notes = {a.ask_id: (a.note, a.note_author) for a in world.store.answers()}
    assert notes == {theirs.id: (None, None), mine.id: ("Ops owns it.", None)}

"""/ask worked more than once for one delivery (an inbox item taken over after a crash),
and its card sent again by the outbox after a crash: one ask, one card."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.commands import CreateAsk
from bot.domain import AskStatus, MessageRef, WorkspaceRef
from tests.unit.fakes import (
    ASKER,
    CHANNEL,
    GOOD_QUESTION,
    WS,
    FakeChat,
    World,
    make_world,
    member,
    reply_text,
)


def ask_cmd(request_id: str | None = "trig.1") -> CreateAsk:
    return CreateAsk(WS, member(ASKER), CHANNEL, GOOD_QUESTION, request_id=request_id)


async def test_the_same_delivery_twice_is_one_ask_and_one_card(world: World) -> None:
    first = await world.handle(ask_cmd())
    again = await world.handle(ask_cmd())
    assert reply_text(first) == reply_text(again) and "Your ask is posted" in reply_text(again)
    [ask] = world.store.asks()
    [posted] = world.chat.posted
    assert posted.nonce == f"ask:{ask.id}" and ask.message == posted.ref


async def test_other_deliveries_are_other_asks(world: World) -> None:
    await world.handle(ask_cmd("trig.1"))
    await world.handle(ask_cmd("trig.2"))
    await world.handle(ask_cmd(None))
    assert len(world.store.asks()) == 3 and len(world.chat.posted) == 3


async def _stored_not_sent(world: World, key: str = "trig.1") -> int:
    """An ask stored (with its card in the outbox) by an attempt that died before sending."""
    await world.app.handle(ask_cmd(key), send=False)
    [ask] = world.store.asks()
    return ask.id


async def _taken_by_a_worker_that_died(world: World) -> None:
    """The outbox's item was taken by a worker that then died; its lease runs out."""
    now = world.clock.now()
    async with world.deps.uow() as uow:
        assert await uow.inbox.claim(["outbox"], "dead", now, now + timedelta(seconds=30), 10)
        await uow.commit()
    world.clock.advance(timedelta(seconds=31))


async def test_an_ask_stored_before_a_crash_gets_its_card_when_worked_again(world: World) -> None:
    ask_id = await _stored_not_sent(world)
    assert world.chat.posted == []
    reply = await world.handle(ask_cmd())
    assert "Your ask is posted" in reply_text(reply)
    [ask] = world.store.asks()
    [posted] = world.chat.posted
    assert ask.id == ask_id and ask.message == posted.ref and posted.nonce == f"ask:{ask_id}"


class FindingChat(FakeChat):
    """A platform where the card of the first attempt is already in the channel."""

    def __init__(self, found: dict[str, MessageRef]) -> None:
        super().__init__()
        self.found = found
        self.looked: list[tuple[str, str, datetime]] = []

    async def post_once(self, workspace: WorkspaceRef, channel_id: str, message: object,
                        nonce: str) -> MessageRef:
        raise AssertionError("cards are not posted as weekly posts")

    async def find_post(self, workspace: WorkspaceRef, channel_id: str, nonce: str,
                        since: datetime) -> MessageRef | None:
        self.looked.append((channel_id, nonce, since))
        return self.found.get(nonce)


async def test_a_card_the_first_attempt_posted_is_found_not_posted_again() -> None:
    chat = FindingChat({})
    world = make_world(chat=chat)
    ask_id = await _stored_not_sent(world)
    await _taken_by_a_worker_that_died(world)
    chat.found[f"ask:{ask_id}"] = MessageRef(CHANNEL, "1700000099.000001")
    reply = await world.handle(ask_cmd())
    assert "Your ask is posted" in reply_text(reply)
    assert chat.posted == [] and [n for _, n, _ in chat.looked] == [f"ask:{ask_id}"]
    [ask] = world.store.asks()
    assert ask.message == MessageRef(CHANNEL, "1700000099.000001")


async def test_a_first_attempt_with_no_card_out_is_posted_after_looking() -> None:
    chat = FindingChat({})
    world = make_world(chat=chat)
    await _stored_not_sent(world)
    await _taken_by_a_worker_that_died(world)
    await world.handle(ask_cmd())
    assert len(chat.posted) == 1 and len(chat.looked) == 1


async def test_a_redelivery_does_not_count_against_the_hourly_limit(world: World) -> None:
    for n in range(10):
        await world.handle(ask_cmd(f"trig.{n}"))
    again = await world.handle(ask_cmd("trig.9"))
    assert "Your ask is posted" in reply_text(again)
    assert len(world.store.asks()) == 10


async def test_a_card_that_could_not_be_posted_stays_withdrawn_when_worked_again(
        world: World) -> None:
    world.chat.fail("post", times=1, permanent=True)
    first = await world.handle(ask_cmd())
    again = await world.handle(ask_cmd())
    assert "could not post your ask" in reply_text(first)
    assert "could not post your ask" in reply_text(again)
    [ask] = world.store.asks()
    assert ask.status is AskStatus.CLOSED and world.chat.posted == []

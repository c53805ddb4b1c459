"""The fakes keep the promises of bot.ports, so that the core's tests mean something."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain import AskStatus, MessageRef, NewAsk, NewThanks, ThanksSource
from bot.errors import ChatError
from bot.messages import error
from tests.unit.fakes import START, WS, FakeChat, FakeStore, FixedClock


def new_ask(asker: str = "U1") -> NewAsk:
    return NewAsk(WS, "C1", asker, "text", None, False, START)


def new_thanks(key: str | None = "k1") -> NewThanks:
    return NewThanks(WS, "U1", "U2", ThanksSource.REACTION, START, dedupe_key=key)


async def test_leaving_a_unit_of_work_without_commit_keeps_nothing() -> None:
    store = FakeStore()
    async with store.uow() as uow:
        await uow.asks.add(new_ask())
        await uow.thanks.add(new_thanks())
    assert store.asks() == [] and store.all_thanks() == [] and store.committed == 0

    with pytest.raises(RuntimeError):
        async with store.uow() as uow:
            await uow.asks.add(new_ask())
            raise RuntimeError
    assert store.asks() == []


async def test_commit_keeps_changes_and_is_counted() -> None:
    store = FakeStore()
    async with store.uow() as uow:
        ask = await uow.asks.add(new_ask())
        await uow.commit()
        await uow.asks.add_offer(ask.id, "U2", START)  # after the commit, not committed
    assert [a.id for a in store.asks()] == [ask.id] and store.offers() == []
    assert store.committed == 1 and store.units[0].committed == 1


async def test_returned_asks_are_copies() -> None:
    store = FakeStore()
    async with store.uow() as uow:
        ask = await uow.asks.add(new_ask())
        ask.text = "changed"
        await uow.commit()
    assert store.asks()[0].text == "text"


async def test_thanks_dedupe_key_makes_one_thanks_and_re_adding_un_retracts() -> None:
    store = FakeStore()
    async with store.uow() as uow:
        first = await uow.thanks.add(new_thanks())
        assert await uow.thanks.add(new_thanks()) is None
        assert await uow.thanks.retract(WS, "k1", START) is not None
        assert await uow.thanks.retract(WS, "k1", START) is None
        again = await uow.thanks.add(new_thanks())
        assert again is not None and first is not None and again.id == first.id
        assert again.retracted_at is None
        assert await uow.thanks.add(new_thanks(None)) is not None  # no key, no dedupe
        await uow.commit()
    assert len(store.all_thanks()) == 2


async def test_offers_close_and_follow_up_claims_happen_once() -> None:
    store = FakeStore()
    async with store.uow() as uow:
        ask = await uow.asks.add(new_ask())
        assert await uow.asks.add_offer(ask.id, "U2", START)
        assert not await uow.asks.add_offer(ask.id, "U2", START)
        assert await uow.asks.claim_follow_up(ask.id, START)
        assert not await uow.asks.claim_follow_up(ask.id, START)
        ask.status = AskStatus.RESOLVED
        assert await uow.asks.close(ask)
        assert not await uow.asks.close(ask)
        assert await uow.asks.list_open(WS) == []


async def test_fake_chat_records_and_fails_on_demand() -> None:
    chat = FakeChat()
    chat.fail("post", times=1)
    with pytest.raises(ChatError):
        await chat.post(WS, "C1", error("x"))
    ref = await chat.post(WS, "C1", error("y"))
    await chat.reply(WS, ref, error("z"))
    await chat.tell(WS, "C1", "U1", error("w"))
    await chat.update(WS, ref, error("v"))
    assert [p.ref for p in chat.posted] == [ref] and chat.replies_to(ref)[0].plain_text() == "z"
    assert chat.told_to("U1")[0].plain_text() == "w"
    assert chat.updates_of(ref)[0].plain_text() == "v"
    assert ref != MessageRef("C1", chat.replies[0].ref.message_id)


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock()
    assert clock.now() == START
    assert clock.advance(timedelta(hours=1)) == START + timedelta(hours=1) == clock.now()


async def test_overlapping_writers_are_caught_rather_than_losing_a_write() -> None:
    store = FakeStore()
    async with store.uow() as first, store.uow() as second:
        await first.asks.add(new_ask())
        await first.commit()
        await second.asks.add(new_ask("U2"))
        with pytest.raises(AssertionError, match="overlapped"):
            await second.commit()
    assert [a.asker_id for a in store.asks()] == ["U1"]

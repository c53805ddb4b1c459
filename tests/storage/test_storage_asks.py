"""SqlAskRepository on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest

from bot.domain import AskStatus, CloseReason, HelpOffer, LadderStep, MessageRef
from storage import SqlStore
from tests.storage.storage_testing import OTHER_WORKSPACE, T0, WORKSPACE, command_thanks, minutes, new_ask

CARD = MessageRef("C-help", "1700000000.000200")


async def test_add_returns_the_stored_open_ask(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        ask = await uow.asks.add(new_ask(tried="read the runbook"))
        await uow.commit()

    async with store.unit_of_work() as uow:
        stored = await uow.asks.get(WORKSPACE, ask.id)

    assert stored == ask
    assert ask.status is AskStatus.OPEN
    assert (ask.workspace, ask.channel_id, ask.asker_id) == (WORKSPACE, "C-help", "U-asker")
    assert (ask.tried, ask.anonymous, ask.created_at) == ("read the runbook", False, T0)
    assert (ask.message, ask.closed_at, ask.close_reason, ask.follow_up_at) == (None,) * 4


async def test_ids_are_distinct_and_never_reused(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        first = await uow.asks.add(new_ask("U-a"))
        second = await uow.asks.add(new_ask("U-b"))
        await uow.asks.forget_asker(WORKSPACE, "U-b", delete=True)
        third = await uow.asks.add(new_ask("U-c"))
        await uow.commit()
    assert first.id < second.id < third.id


async def test_get_only_finds_asks_of_the_workspace(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        ask = await uow.asks.add(new_ask())
        assert await uow.asks.get(OTHER_WORKSPACE, ask.id) is None
        assert await uow.asks.get(WORKSPACE, ask.id + 1000) is None


async def test_set_message_and_find_by_message(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        ask = await uow.asks.add(new_ask())
        await uow.asks.add(new_ask("U-other"))
        await uow.asks.set_message(ask.id, CARD)
        await uow.commit()

    async with store.unit_of_work() as uow:
        found = await uow.asks.find_by_message(WORKSPACE, CARD)
        assert found is not None
        assert (found.id, found.message) == (ask.id, CARD)
        assert await uow.asks.find_by_message(OTHER_WORKSPACE, CARD) is None
        assert await uow.asks.find_by_message(WORKSPACE, MessageRef("C-other", CARD.message_id)) is None
        assert await uow.asks.find_by_message(WORKSPACE, MessageRef(CARD.channel_id, "1")) is None


async def test_count_by_asker_since(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        for offset in (-90, -30, -1, 0):
            await uow.asks.add(new_ask(at=T0 + minutes(offset)))
        await uow.asks.add(new_ask("U-other"))
        await uow.asks.add(new_ask(workspace=OTHER_WORKSPACE))

        assert await uow.asks.count_by_asker_since(WORKSPACE, "U-asker", T0 - minutes(60)) == 3
        assert await uow.asks.count_by_asker_since(WORKSPACE, "U-asker", T0) == 1
        assert await uow.asks.count_by_asker_since(WORKSPACE, "U-nobody", T0 - minutes(60)) == 0


async def test_add_offer_is_once_per_helper(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        ask = await uow.asks.add(new_ask())
        assert await uow.asks.add_offer(ask.id, "U-helper", T0 + minutes(1)) is True
        assert await uow.asks.add_offer(ask.id, "U-helper", T0 + minutes(2)) is False
        assert await uow.asks.add_offer(ask.id, "U-second", T0 + minutes(3)) is True
        await uow.commit()

    async with store.unit_of_work() as uow:
        assert await uow.asks.offers(ask.id) == [
            HelpOffer(ask.id, "U-helper", T0 + minutes(1)),
            HelpOffer(ask.id, "U-second", T0 + minutes(3)),
        ]


async def test_close_stores_the_outcome_only_once(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        ask = await uow.asks.add(new_ask())
        resolved = dataclasses.replace(ask, status=AskStatus.RESOLVED, closed_at=T0 + minutes(5))
        assert await uow.asks.close(resolved) is True
        withdrawn = dataclasses.replace(
            ask,
            status=AskStatus.CLOSED,
            closed_at=T0 + minutes(9),
            close_reason=CloseReason.WITHDRAWN,
        )
        assert await uow.asks.close(withdrawn) is False
        await uow.commit()

    async with store.unit_of_work() as uow:
        assert await uow.asks.get(WORKSPACE, ask.id) == resolved


async def test_close_keeps_the_reason(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        ask = await uow.asks.add(new_ask())
        expired = dataclasses.replace(
            ask, status=AskStatus.CLOSED, closed_at=T0 + minutes(60), close_reason=CloseReason.EXPIRED
        )
        assert await uow.asks.close(expired)
        assert await uow.asks.get(WORKSPACE, ask.id) == expired


async def test_list_open_oldest_first_by_channel_and_limit(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        newer = await uow.asks.add(new_ask(at=T0 + minutes(10)))
        older = await uow.asks.add(new_ask(at=T0))
        elsewhere = await uow.asks.add(new_ask(at=T0 + minutes(5), channel_id="C-ops"))
        done = await uow.asks.add(new_ask(at=T0 - minutes(5)))
        await uow.asks.close(dataclasses.replace(done, status=AskStatus.RESOLVED, closed_at=T0))
        await uow.asks.add(new_ask(workspace=OTHER_WORKSPACE))

        assert [a.id for a in await uow.asks.list_open(WORKSPACE)] == [older.id, elsewhere.id, newer.id]
        assert [a.id for a in await uow.asks.list_open(WORKSPACE, "C-help")] == [older.id, newer.id]
        assert [a.id for a in await uow.asks.list_open(WORKSPACE, limit=1)] == [older.id]
        assert await uow.asks.list_open(WORKSPACE, "C-nothing") == []


async def test_workspaces_with_open_asks(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        assert await uow.asks.workspaces_with_open_asks() == []
        await uow.asks.add(new_ask())
        await uow.asks.add(new_ask("U-2"))
        closed = await uow.asks.add(new_ask(workspace=OTHER_WORKSPACE))
        assert sorted(await uow.asks.workspaces_with_open_asks(), key=str) == [
            OTHER_WORKSPACE,
            WORKSPACE,
        ]
        await uow.asks.close(dataclasses.replace(closed, status=AskStatus.RESOLVED, closed_at=T0))
        assert await uow.asks.workspaces_with_open_asks() == [WORKSPACE]


async def test_waiting_without_offer(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        waiting = await uow.asks.add(new_ask(at=T0 - minutes(180)))
        helped = await uow.asks.add(new_ask(at=T0 - minutes(170)))
        await uow.asks.add_offer(helped.id, "U-helper", T0 - minutes(100))
        followed_up = await uow.asks.add(new_ask(at=T0 - minutes(160)))
        await uow.asks.claim_follow_up(followed_up.id, T0 - minutes(30))
        resolved = await uow.asks.add(new_ask(at=T0 - minutes(150)))
        await uow.asks.close(dataclasses.replace(resolved, status=AskStatus.RESOLVED, closed_at=T0))
        await uow.asks.add(new_ask(at=T0 - minutes(60)))  # too recent
        await uow.asks.add(new_ask(at=T0 - minutes(180), workspace=OTHER_WORKSPACE))

        found = await uow.asks.waiting_without_offer(WORKSPACE, T0 - minutes(120))
        assert [a.id for a in found] == [waiting.id]


async def test_claim_follow_up_once(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        ask = await uow.asks.add(new_ask())
        assert await uow.asks.claim_follow_up(ask.id, T0 + minutes(120)) is True
        assert await uow.asks.claim_follow_up(ask.id, T0 + minutes(121)) is False
        stored = await uow.asks.get(WORKSPACE, ask.id)
        assert stored is not None and stored.follow_up_at == T0 + minutes(120)


async def test_a_ladder_step_is_taken_once_and_never_after_an_offer_or_a_close(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        waiting = await uow.asks.add(new_ask(at=T0 - minutes(30)))
        helped = await uow.asks.add(new_ask(at=T0 - minutes(30)))
        await uow.asks.add_offer(helped.id, "U-helper", T0 - minutes(20))
        resolved = await uow.asks.add(new_ask(at=T0 - minutes(30)))
        await uow.asks.close(dataclasses.replace(resolved, status=AskStatus.RESOLVED, closed_at=T0))
        await uow.asks.add(new_ask(at=T0 - minutes(5)))  # too recent
        await uow.asks.add(new_ask(at=T0 - minutes(30), workspace=OTHER_WORKSPACE))
        due = await uow.asks.waiting_below_step(WORKSPACE, LadderStep.TIPS, T0 - minutes(15))
        assert [a.id for a in due] == [waiting.id] and due[0].ladder_step == LadderStep.NONE
        assert await uow.asks.claim_step(helped.id, LadderStep.TIPS) is False
        assert await uow.asks.claim_step(resolved.id, LadderStep.TIPS) is False
        assert await uow.asks.claim_step(waiting.id, LadderStep.TIPS) is True
        assert await uow.asks.claim_step(waiting.id, LadderStep.TIPS) is False
        assert await uow.asks.waiting_below_step(WORKSPACE, LadderStep.TIPS, T0 - minutes(10)) == []
        stored = await uow.asks.get(WORKSPACE, waiting.id)
        assert stored is not None and stored.ladder_step == LadderStep.TIPS


async def test_open_created_before(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        old = await uow.asks.add(new_ask(at=T0 - minutes(60 * 24 * 15)))
        older = await uow.asks.add(new_ask(at=T0 - minutes(60 * 24 * 20)))
        await uow.asks.add(new_ask(at=T0 - minutes(60)))
        done = await uow.asks.add(new_ask(at=T0 - minutes(60 * 24 * 30)))
        await uow.asks.close(dataclasses.replace(done, status=AskStatus.RESOLVED, closed_at=T0))

        found = await uow.asks.open_created_before(WORKSPACE, T0 - minutes(60 * 24 * 14))
        assert [a.id for a in found] == [older.id, old.id]


async def test_by_asker(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        first = await uow.asks.add(new_ask(at=T0))
        second = await uow.asks.add(new_ask(at=T0 + minutes(1)))
        await uow.asks.add(new_ask("U-other"))
        await uow.asks.add(new_ask(workspace=OTHER_WORKSPACE))
        assert [a.id for a in await uow.asks.by_asker(WORKSPACE, "U-asker")] == [first.id, second.id]


async def _forget_fixture(store: SqlStore) -> tuple[int, int, int]:
    async with store.unit_of_work() as uow:
        theirs = await uow.asks.add(new_ask("U-leaving", anonymous=False))
        helped_on_theirs = theirs.id
        await uow.asks.add_offer(theirs.id, "U-helper", T0)
        someone_elses = await uow.asks.add(new_ask("U-staying"))
        await uow.asks.add_offer(someone_elses.id, "U-leaving", T0)
        await uow.asks.add_offer(someone_elses.id, "U-helper", T0)
        other_ws = await uow.asks.add(new_ask("U-leaving", workspace=OTHER_WORKSPACE))
        await uow.asks.add_offer(other_ws.id, "U-leaving", T0)
        await uow.commit()
    return helped_on_theirs, someone_elses.id, other_ws.id


async def test_forget_asker_deleting_asks(store: SqlStore) -> None:
    theirs, someone_elses, other_ws = await _forget_fixture(store)
    async with store.unit_of_work() as uow:
        thanks = await uow.thanks.add(dataclasses.replace(command_thanks(), ask_id=theirs))
        assert await uow.asks.forget_asker(WORKSPACE, "U-leaving", delete=True) == 1
        await uow.commit()

    async with store.unit_of_work() as uow:
        assert await uow.asks.get(WORKSPACE, theirs) is None
        assert await uow.asks.offers(theirs) == []  # cascaded
        assert [o.helper_id for o in await uow.asks.offers(someone_elses)] == ["U-helper"]
        assert await uow.asks.get(OTHER_WORKSPACE, other_ws) is not None
        assert [o.helper_id for o in await uow.asks.offers(other_ws)] == ["U-leaving"]
        exported = await uow.thanks.export(WORKSPACE)
        assert thanks is not None and [t.ask_id for t in exported] == [None]  # SET NULL


async def test_forget_asker_keeping_asks_anonymous(store: SqlStore) -> None:
    theirs, someone_elses, _ = await _forget_fixture(store)
    async with store.unit_of_work() as uow:
        assert await uow.asks.forget_asker(WORKSPACE, "U-leaving", delete=False) == 1
        await uow.commit()

    async with store.unit_of_work() as uow:
        kept = await uow.asks.get(WORKSPACE, theirs)
        assert kept is not None
        assert (kept.asker_id, kept.anonymous, kept.text) == (None, True, new_ask().text)
        assert [o.helper_id for o in await uow.asks.offers(theirs)] == ["U-helper"]
        assert [o.helper_id for o in await uow.asks.offers(someone_elses)] == ["U-helper"]
        assert await uow.asks.by_asker(WORKSPACE, "U-leaving") == []


async def test_export(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        first = await uow.asks.add(new_ask())
        second = await uow.asks.add(new_ask("U-2", at=T0 + minutes(1)))
        await uow.asks.add_offer(second.id, "U-h1", T0 + minutes(2))
        await uow.asks.add_offer(first.id, "U-h2", T0 + minutes(3))
        other = await uow.asks.add(new_ask(workspace=OTHER_WORKSPACE))
        await uow.asks.add_offer(other.id, "U-h3", T0)

        asks, offers = await uow.asks.export(WORKSPACE)
        assert [a.id for a in asks] == [first.id, second.id]
        assert [(o.ask_id, o.helper_id) for o in offers] == [(second.id, "U-h1"), (first.id, "U-h2")]


@pytest.mark.parametrize("anonymous", [True, False])
async def test_anonymous_flag_round_trips(store: SqlStore, anonymous: bool) -> None:
    async with store.unit_of_work() as uow:
        ask = await uow.asks.add(new_ask(anonymous=anonymous))
        stored = await uow.asks.get(WORKSPACE, ask.id)
        assert stored is not None and stored.anonymous is anonymous


async def test_a_held_ask_is_not_open_until_posted_once(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        held = await uow.asks.add(dataclasses.replace(new_ask(), held=True))
        await uow.commit()
    assert held.status is AskStatus.HELD
    async with store.unit_of_work() as uow:
        assert await uow.asks.list_open(WORKSPACE) == []
        assert await uow.asks.waiting_without_offer(WORKSPACE, T0 + minutes(600)) == []
        assert await uow.asks.post_held(held.id, T0 + minutes(5))
        assert not await uow.asks.post_held(held.id, T0 + minutes(6))  # once
        await uow.commit()
    async with store.unit_of_work() as uow:
        posted = await uow.asks.get(WORKSPACE, held.id)
    assert posted is not None and posted.status is AskStatus.OPEN
    assert posted.created_at == T0 + minutes(5)  # open from when it was posted


async def test_a_held_ask_can_be_resolved_and_then_never_posted(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        held = await uow.asks.add(dataclasses.replace(new_ask(), held=True))
        resolved = dataclasses.replace(held, status=AskStatus.RESOLVED, closed_at=T0 + minutes(1))
        assert await uow.asks.close(resolved)
        assert not await uow.asks.post_held(held.id, T0 + minutes(2))
        await uow.commit()


async def test_held_asks_never_posted_are_closed_as_withdrawn(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        old = await uow.asks.add(dataclasses.replace(new_ask(), held=True))
        recent = await uow.asks.add(dataclasses.replace(new_ask(at=T0 + minutes(30)), held=True))
        posted = await uow.asks.add(new_ask())
        assert await uow.asks.close_held(T0 + minutes(10), T0 + minutes(40)) == 1
        await uow.commit()
    async with store.unit_of_work() as uow:
        found = {a.id: a for a in [await uow.asks.get(WORKSPACE, i)
                                   for i in (old.id, recent.id, posted.id)] if a}
    assert (found[old.id].status, found[old.id].close_reason) == (AskStatus.CLOSED,
                                                                  CloseReason.WITHDRAWN)
    assert found[old.id].closed_at == T0 + minutes(40)
    assert found[recent.id].status is AskStatus.HELD and found[posted.id].status is AskStatus.OPEN

"""Several writers at once, through separate engines (as separate processes would be).

Each case is repeated so that an unlucky interleaving has many chances to show up.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from bot.domain import Ask, AskStatus, Delivery, DeliveryStatus, NewThanks, Settings, Thanks
from storage import SqlStore, SqlUnitOfWork
from tests.storage.storage_testing import T0, WORKSPACE, a_schedule, minutes, new_ask, reaction, reaction_key

ROUNDS = 15
T = TypeVar("T")


async def _at_once(stores: list[SqlStore], work: Callable[[SqlUnitOfWork], Awaitable[T]]) -> list[T]:
    """Run `work` in one committed unit of work per store, all released together."""
    barrier = asyncio.Barrier(len(stores))

    async def one(store: SqlStore) -> T:
        await barrier.wait()
        async with store.unit_of_work() as uow:
            result = await work(uow)
            await uow.commit()
            return result

    return await asyncio.gather(*(one(store) for store in stores))


async def _add_thanks(thanks: NewThanks, uow: SqlUnitOfWork) -> Thanks | None:
    return await uow.thanks.add(thanks)


async def _offer_help(ask_id: int, uow: SqlUnitOfWork) -> bool:
    return await uow.asks.add_offer(ask_id, "U-helper", T0)


async def _claim_follow_up(ask_id: int, uow: SqlUnitOfWork) -> bool:
    return await uow.asks.claim_follow_up(ask_id, T0 + minutes(120))


async def _close(ask: Ask, uow: SqlUnitOfWork) -> bool:
    return await uow.asks.close(ask)


async def test_two_deliveries_of_one_reaction_record_one_thanks(
    store: SqlStore, other_store: SqlStore
) -> None:
    for round_ in range(ROUNDS):
        thanks = reaction(message_id=f"1700000000.{round_:06d}")
        results = await _at_once([store, other_store], partial(_add_thanks, thanks))
        assert sum(result is not None for result in results) == 1

    async with store.unit_of_work() as uow:
        stored = await uow.thanks.export(WORKSPACE)
    assert len(stored) == ROUNDS
    assert len({t.message for t in stored}) == ROUNDS


async def test_two_re_adds_of_a_retracted_reaction_revive_it_once(
    store: SqlStore, other_store: SqlStore
) -> None:
    for round_ in range(ROUNDS):
        message_id = f"1700000000.{round_:06d}"
        async with store.unit_of_work() as uow:
            await uow.thanks.add(reaction(message_id=message_id))
            await uow.thanks.retract(WORKSPACE, reaction_key("U-giver", message_id), T0)
            await uow.commit()
        thanks = reaction(message_id=message_id)
        results = await _at_once([store, other_store], partial(_add_thanks, thanks))
        assert sum(result is not None for result in results) == 1

    async with store.unit_of_work() as uow:
        stored = await uow.thanks.export(WORKSPACE)
    assert len(stored) == ROUNDS
    assert all(t.retracted_at is None for t in stored)


async def test_one_helper_clicking_twice_makes_one_offer(store: SqlStore, other_store: SqlStore) -> None:
    for _ in range(ROUNDS):
        async with store.unit_of_work() as uow:
            ask = await uow.asks.add(new_ask())
            await uow.commit()
        results = await _at_once(
            [store, other_store, store, other_store],
            partial(_offer_help, ask.id),
        )
        assert sorted(results) == [False, False, False, True]
        async with store.unit_of_work() as uow:
            assert len(await uow.asks.offers(ask.id)) == 1


async def test_a_follow_up_is_claimed_once(store: SqlStore, other_store: SqlStore) -> None:
    for _ in range(ROUNDS):
        async with store.unit_of_work() as uow:
            ask = await uow.asks.add(new_ask())
            await uow.commit()
        results = await _at_once(
            [store, other_store, store, other_store],
            partial(_claim_follow_up, ask.id),
        )
        assert sorted(results) == [False, False, False, True]


async def test_an_ask_is_closed_once(store: SqlStore, other_store: SqlStore) -> None:
    for _ in range(ROUNDS):
        async with store.unit_of_work() as uow:
            ask = await uow.asks.add(new_ask())
            await uow.commit()
        resolved = dataclasses.replace(ask, status=AskStatus.RESOLVED, closed_at=T0)
        results = await _at_once([store, other_store], partial(_close, resolved))
        assert sorted(results) == [False, True]


async def test_concurrent_upserts_make_one_row(store: SqlStore, other_store: SqlStore) -> None:
    for round_ in range(ROUNDS):
        member = f"U-{round_}"

        async def opt_out(uow: SqlUnitOfWork, member: str = member) -> None:
            await uow.members.set_opted_out(WORKSPACE, member, True)
            await uow.workspaces.save_settings(WORKSPACE, Settings(leaderboard=True))

        await _at_once([store, other_store], opt_out)
    async with store.unit_of_work() as uow:
        assert await uow.members.opted_out(WORKSPACE) == {f"U-{n}" for n in range(ROUNDS)}
        assert (await uow.workspaces.settings(WORKSPACE)).leaderboard is True


async def test_many_writers_that_read_first_all_succeed(
    store: SqlStore, other_store: SqlStore, backend: str
) -> None:
    """The rate-limit flow: count the member's recent asks, then add one.

    On SQLite a transaction that reads before it writes would fail at once with
    "database is locked" if another writer committed in between; BEGIN IMMEDIATE makes
    it wait for the lock instead, so the transactions run one after the other.
    (PostgreSQL's READ COMMITTED lets them overlap, which is fine for a rate limit.)
    """
    stores = [store, other_store] * 5

    async def ask_within_limit(uow: SqlUnitOfWork) -> int:
        recent = await uow.asks.count_by_asker_since(WORKSPACE, "U-asker", T0 - minutes(60))
        await uow.asks.add(new_ask())
        return recent

    counts = await _at_once(stores, ask_within_limit)
    if backend == "sqlite":
        assert sorted(counts) == list(range(len(stores)))  # each saw the ones before it
    async with store.unit_of_work() as uow:
        assert len(await uow.asks.list_open(WORKSPACE)) == len(stores)


def _period(round_: int) -> str:
    return f"2026-W{round_ + 1:02d}"


async def test_a_weekly_post_is_claimed_once(store: SqlStore, other_store: SqlStore) -> None:
    schedule = await a_schedule(store)
    for round_ in range(ROUNDS):
        period = _period(round_)

        async def claim(uow: SqlUnitOfWork, period: str = period) -> Delivery | None:
            return await uow.deliveries.claim(schedule.id, period, f"nonce-{period}", T0)

        results = await _at_once([store, other_store, store, other_store], claim)
        assert sum(result is not None for result in results) == 1


async def test_a_claim_left_behind_is_taken_over_once(store: SqlStore, other_store: SqlStore) -> None:
    schedule = await a_schedule(store)
    for round_ in range(ROUNDS):
        period = _period(round_)
        async with store.unit_of_work() as uow:
            abandoned = await uow.deliveries.claim(schedule.id, period, f"nonce-{period}", T0)
            await uow.commit()
        assert abandoned is not None

        async def reclaim(uow: SqlUnitOfWork, abandoned: Delivery = abandoned) -> bool:
            return await uow.deliveries.reclaim(abandoned, T0 + minutes(10))

        results = await _at_once([store, other_store, store, other_store], reclaim)
        assert sorted(results) == [False, False, False, True]


async def test_a_skip_and_a_claim_at_once_leave_one_delivery(store: SqlStore, other_store: SqlStore) -> None:
    schedule = await a_schedule(store)
    for round_ in range(ROUNDS):
        period = _period(round_)
        barrier = asyncio.Barrier(2)

        async def skip(period: str = period, barrier: asyncio.Barrier = barrier) -> bool:
            await barrier.wait()
            async with store.unit_of_work() as uow:
                skipped = await uow.deliveries.skip(schedule.id, period, "nonce", T0)
                await uow.commit()
                return skipped

        async def claim(period: str = period, barrier: asyncio.Barrier = barrier) -> bool:
            await barrier.wait()
            async with other_store.unit_of_work() as uow:
                claimed = await uow.deliveries.claim(schedule.id, period, "nonce", T0)
                await uow.commit()
                return claimed is not None

        skipped, claimed = await asyncio.gather(skip(), claim())
        assert skipped != claimed
        async with store.unit_of_work() as uow:
            stored = await uow.deliveries.get(schedule.id, period)
        assert stored is not None
        assert stored.status is (DeliveryStatus.SKIPPED if skipped else DeliveryStatus.CLAIMED)

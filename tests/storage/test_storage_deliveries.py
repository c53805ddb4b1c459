"""SqlDeliveryRepository on SQLite and PostgreSQL: one post per schedule and period."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text

from bot.domain import Delivery, DeliveryStatus
from bot.errors import StorageError
from storage import SqlStore
from tests.storage.storage_testing import T0, a_schedule, minutes

WEEK = "2026-W10"
NONCE = "leanon-1-2026-W10"


async def _claim(
    store: SqlStore, schedule_id: int, period: str = WEEK, at_minute: float = 0
) -> Delivery | None:
    async with store.unit_of_work() as uow:
        claimed = await uow.deliveries.claim(schedule_id, period, NONCE, T0 + minutes(at_minute))
        await uow.commit()
        return claimed


async def _get(store: SqlStore, schedule_id: int, period: str = WEEK) -> Delivery | None:
    async with store.unit_of_work() as uow:
        return await uow.deliveries.get(schedule_id, period)


async def test_claim_returns_the_claimed_delivery(store: SqlStore) -> None:
    schedule = await a_schedule(store)
    claimed = await _claim(store, schedule.id)

    assert claimed == Delivery(
        id=claimed.id if claimed else 0,
        schedule_id=schedule.id,
        period=WEEK,
        status=DeliveryStatus.CLAIMED,
        nonce=NONCE,
        claimed_at=T0,
        message_id=None,
        completed_at=None,
    )
    assert await _get(store, schedule.id) == claimed
    assert await _get(store, schedule.id, "2026-W11") is None


async def test_a_period_is_claimed_once(store: SqlStore) -> None:
    schedule = await a_schedule(store)
    first = await _claim(store, schedule.id)
    assert await _claim(store, schedule.id, at_minute=1) is None
    async with store.unit_of_work() as uow:
        assert await uow.deliveries.claim(schedule.id, WEEK, "another-nonce", T0) is None
    assert await _get(store, schedule.id) == first


async def test_each_period_and_schedule_has_its_own_delivery(store: SqlStore) -> None:
    schedule = await a_schedule(store, "C-a")
    other = await a_schedule(store, "C-b")
    claims = [
        await _claim(store, schedule.id, "2026-W10"),
        await _claim(store, schedule.id, "2026-W11"),
        await _claim(store, other.id, "2026-W10"),
    ]
    assert all(claims)
    assert len({c.id for c in claims if c}) == 3


async def test_claiming_for_a_schedule_that_does_not_exist_is_a_storage_error(store: SqlStore) -> None:
    with pytest.raises(StorageError, match="claim"):
        await _claim(store, 999_999)


async def test_complete_records_the_post(store: SqlStore) -> None:
    schedule = await a_schedule(store)
    claimed = await _claim(store, schedule.id)
    assert claimed is not None
    async with store.unit_of_work() as uow:
        await uow.deliveries.complete(claimed.id, "1700000000.000900", T0 + minutes(1))
        await uow.commit()

    posted = dataclasses.replace(
        claimed, status=DeliveryStatus.POSTED, message_id="1700000000.000900", completed_at=T0 + minutes(1)
    )
    assert await _get(store, schedule.id) == posted
    assert await _claim(store, schedule.id) is None
    async with store.unit_of_work() as uow:  # a late second completion changes nothing
        await uow.deliveries.complete(claimed.id, "1700000000.000999", T0 + minutes(2))
        await uow.commit()
    assert await _get(store, schedule.id) == posted


async def test_release_drops_the_claim_so_that_it_can_be_claimed_again(store: SqlStore) -> None:
    schedule = await a_schedule(store)
    failed = await _claim(store, schedule.id)
    assert failed is not None
    async with store.unit_of_work() as uow:
        await uow.deliveries.release(failed.id)
        await uow.commit()
    assert await _get(store, schedule.id) is None

    retried = await _claim(store, schedule.id, at_minute=1)
    assert retried is not None
    assert retried.id != failed.id  # a late complete() of the failed attempt cannot land on it
    assert retried.claimed_at == T0 + minutes(1)
    async with store.unit_of_work() as uow:
        await uow.deliveries.complete(failed.id, "1700000000.000900", T0 + minutes(2))
        await uow.commit()
    assert await _get(store, schedule.id) == retried


async def test_release_keeps_a_posted_or_skipped_delivery(store: SqlStore) -> None:
    schedule = await a_schedule(store)
    claimed = await _claim(store, schedule.id)
    assert claimed is not None
    async with store.unit_of_work() as uow:
        await uow.deliveries.complete(claimed.id, "1700000000.000900", T0)
        await uow.deliveries.release(claimed.id)
        assert await uow.deliveries.skip(schedule.id, "2026-W09", NONCE, T0)
        skipped = await uow.deliveries.get(schedule.id, "2026-W09")
        assert skipped is not None
        await uow.deliveries.release(skipped.id)
        await uow.commit()
    posted = await _get(store, schedule.id)
    assert posted is not None and posted.status is DeliveryStatus.POSTED
    assert await _get(store, schedule.id, "2026-W09") == skipped


async def test_skip_records_a_missed_period(store: SqlStore) -> None:
    schedule = await a_schedule(store)
    async with store.unit_of_work() as uow:
        assert await uow.deliveries.skip(schedule.id, WEEK, NONCE, T0) is True
        assert await uow.deliveries.skip(schedule.id, WEEK, NONCE, T0 + minutes(1)) is False
        await uow.commit()
    skipped = await _get(store, schedule.id)
    assert skipped == Delivery(
        id=skipped.id if skipped else 0,
        schedule_id=schedule.id,
        period=WEEK,
        status=DeliveryStatus.SKIPPED,
        nonce=NONCE,
        claimed_at=T0,
        message_id=None,
        completed_at=T0,
    )
    assert await _claim(store, schedule.id) is None


async def test_skip_after_a_claim_changes_nothing(store: SqlStore) -> None:
    schedule = await a_schedule(store)
    claimed = await _claim(store, schedule.id)
    async with store.unit_of_work() as uow:
        assert await uow.deliveries.skip(schedule.id, WEEK, NONCE, T0 + minutes(1)) is False
        await uow.commit()
    assert await _get(store, schedule.id) == claimed


async def test_reclaim_takes_over_a_claim_left_behind(store: SqlStore) -> None:
    schedule = await a_schedule(store)
    abandoned = await _claim(store, schedule.id)
    assert abandoned is not None
    async with store.unit_of_work() as uow:
        assert await uow.deliveries.reclaim(abandoned, T0 + minutes(10)) is True
        # The same stale view again: the claim has moved on, so it is someone else's now.
        assert await uow.deliveries.reclaim(abandoned, T0 + minutes(11)) is False
        await uow.commit()
    taken = await _get(store, schedule.id)
    assert taken == dataclasses.replace(abandoned, claimed_at=T0 + minutes(10))


async def test_reclaim_of_a_completed_or_released_delivery_fails(store: SqlStore) -> None:
    schedule = await a_schedule(store, "C-a")
    completed = await _claim(store, schedule.id, "2026-W10")
    released = await _claim(store, schedule.id, "2026-W11")
    assert completed is not None and released is not None
    async with store.unit_of_work() as uow:
        await uow.deliveries.complete(completed.id, "1700000000.000900", T0)
        await uow.deliveries.release(released.id)
        assert await uow.deliveries.reclaim(completed, T0 + minutes(10)) is False
        assert await uow.deliveries.reclaim(released, T0 + minutes(10)) is False
        await uow.commit()


async def test_deleting_a_schedule_deletes_its_deliveries(store: SqlStore) -> None:
    schedule = await a_schedule(store)
    await _claim(store, schedule.id)
    async with store.engine.begin() as connection:
        await connection.execute(text("DELETE FROM schedules"))
        remaining = (await connection.execute(text("SELECT count(*) FROM deliveries"))).scalar_one()
    assert remaining == 0

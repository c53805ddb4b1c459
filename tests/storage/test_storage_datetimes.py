"""Datetimes come back timezone-aware in UTC, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

from bot.domain import AskStatus
from storage import SqlStore
from tests.storage.storage_testing import WORKSPACE, command_thanks, new_ask

PARIS_SUMMER = timezone(timedelta(hours=2))


async def test_times_come_back_aware_utc_with_microseconds(store: SqlStore) -> None:
    created = datetime(2026, 7, 14, 23, 30, 5, 123456, tzinfo=PARIS_SUMMER)
    async with store.unit_of_work() as uow:
        ask = await uow.asks.add(new_ask(at=created))
        await uow.asks.claim_follow_up(ask.id, created + timedelta(hours=2))
        await uow.asks.close(
            dataclasses.replace(ask, status=AskStatus.RESOLVED, closed_at=created + timedelta(days=1))
        )
        await uow.asks.add_offer(ask.id, "U-helper", created + timedelta(minutes=1))
        await uow.thanks.add(command_thanks(at=created))
        await uow.commit()

    async with store.unit_of_work() as uow:
        stored = await uow.asks.get(WORKSPACE, ask.id)
        [offer] = await uow.asks.offers(ask.id)
        [thanks] = await uow.thanks.export(WORKSPACE)

    assert stored is not None
    times = [stored.created_at, stored.follow_up_at, stored.closed_at, offer.created_at, thanks.created_at]
    for value in times:
        assert value is not None and value.tzinfo is UTC
    assert stored.created_at == created
    assert stored.created_at == datetime(2026, 7, 14, 21, 30, 5, 123456, tzinfo=UTC)
    assert stored.follow_up_at == created + timedelta(hours=2)
    assert stored.closed_at == created + timedelta(days=1)


async def test_comparisons_use_the_instant_not_the_wall_clock(store: SqlStore) -> None:
    utc_noon = datetime(2026, 7, 14, 12, 0, tzinfo=UTC)
    async with store.unit_of_work() as uow:
        await uow.asks.add(new_ask(at=utc_noon))
        # 13:30 in Paris is 11:30 UTC: before the ask, although the wall clock says later.
        paris_before = datetime(2026, 7, 14, 13, 30, tzinfo=PARIS_SUMMER)
        assert await uow.asks.count_by_asker_since(WORKSPACE, "U-asker", paris_before) == 1
        paris_after = datetime(2026, 7, 14, 14, 30, tzinfo=PARIS_SUMMER)
        assert await uow.asks.count_by_asker_since(WORKSPACE, "U-asker", paris_after) == 0

"""SqlScheduleRepository on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.domain import Schedule
from storage import SqlStore
from tests.storage.storage_testing import MONDAY_0930, OTHER_WORKSPACE, T0, WORKSPACE, a_schedule, minutes


async def _get(store: SqlStore, schedule_id: int) -> Schedule | None:
    async with store.unit_of_work() as uow:
        return await uow.schedules.by_id(schedule_id)


async def test_upsert_creates_a_schedule(store: SqlStore) -> None:
    schedule = await a_schedule(store, weekday=2, at=time(14, 5), timezone="America/New_York")

    assert schedule == Schedule(
        id=schedule.id,
        workspace=WORKSPACE,
        channel_id="C-help",
        weekday=2,
        at=time(14, 5),
        timezone="America/New_York",
        paused=False,
        updated_at=T0,
        themes_used=(),
        posts_sent=0,
        failures=0,
    )
    async with store.unit_of_work() as uow:
        assert await uow.schedules.get(WORKSPACE, "C-help") == schedule
        assert await uow.schedules.by_id(schedule.id) == schedule
        assert await uow.schedules.get(WORKSPACE, "C-other") is None
        assert await uow.schedules.get(OTHER_WORKSPACE, "C-help") is None
        assert await uow.schedules.by_id(schedule.id + 1000) is None


async def test_upsert_changes_the_schedule_and_keeps_its_rotation(store: SqlStore) -> None:
    first = await a_schedule(store)
    async with store.unit_of_work() as uow:
        await uow.schedules.record_rotation(first.id, ("no-one-knows-it-all", "time-saver"), 2)
        await uow.schedules.record_failure(first.id)
        changed = await uow.schedules.upsert(
            WORKSPACE, "C-help", 4, time(16, 45), "Asia/Tokyo", True, T0 + minutes(5)
        )
        await uow.commit()

    assert changed == Schedule(
        id=first.id,
        workspace=WORKSPACE,
        channel_id="C-help",
        weekday=4,
        at=time(16, 45),
        timezone="Asia/Tokyo",
        paused=True,
        updated_at=T0 + minutes(5),
        themes_used=("no-one-knows-it-all", "time-saver"),
        posts_sent=2,
        failures=0,
    )
    assert await _get(store, first.id) == changed


async def test_schedules_are_per_channel_and_workspace(store: SqlStore) -> None:
    help_ = await a_schedule(store, "C-help")
    ops = await a_schedule(store, "C-ops", weekday=1)
    far = await a_schedule(store, "C-help", workspace=OTHER_WORKSPACE, weekday=6)
    assert len({help_.id, ops.id, far.id}) == 3
    async with store.unit_of_work() as uow:
        assert await uow.schedules.get(WORKSPACE, "C-ops") == ops
        assert await uow.schedules.get(OTHER_WORKSPACE, "C-help") == far


async def test_times_keep_seconds_and_midnight(store: SqlStore) -> None:
    midnight = await a_schedule(store, "C-a", at=time(0, 0))
    late = await a_schedule(store, "C-b", at=time(23, 59, 30))
    assert (await _get(store, midnight.id), await _get(store, late.id)) == (midnight, late)
    assert (midnight.at, late.at) == (time(0, 0), time(23, 59, 30))


@pytest.mark.parametrize("weekday", [-1, 7])
async def test_a_weekday_outside_monday_to_sunday_is_refused(store: SqlStore, weekday: int) -> None:
    with pytest.raises(ValueError, match="weekday"):
        await a_schedule(store, weekday=weekday)


async def test_the_database_refuses_a_bad_weekday_too(store: SqlStore) -> None:
    schedule = await a_schedule(store)
    with pytest.raises(IntegrityError, match="weekday"):
        async with store.engine.begin() as connection:
            await connection.execute(text("UPDATE schedules SET weekday = 7"))
    assert await _get(store, schedule.id) == schedule


async def test_an_aware_time_is_refused(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="naive time"):
        await a_schedule(store, at=time(9, 30, tzinfo=T0.tzinfo))


async def test_set_paused_keeps_the_rest_and_moves_updated_at(store: SqlStore) -> None:
    schedule = await a_schedule(store)
    async with store.unit_of_work() as uow:
        await uow.schedules.set_paused(schedule.id, True, T0 + minutes(1))
        await uow.commit()
    assert await _get(store, schedule.id) == dataclasses.replace(
        schedule, paused=True, updated_at=T0 + minutes(1)
    )
    async with store.unit_of_work() as uow:
        await uow.schedules.set_paused(schedule.id, False, T0 + minutes(2))
        await uow.commit()
    resumed = await _get(store, schedule.id)
    assert resumed is not None
    assert (resumed.paused, resumed.updated_at) == (False, T0 + minutes(2))


async def test_active_lists_the_unpaused_schedules_of_every_workspace(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        assert await uow.schedules.active() == []
    first = await a_schedule(store, "C-a")
    await a_schedule(store, "C-b", paused=True)
    far = await a_schedule(store, "C-c", workspace=OTHER_WORKSPACE)
    paused_later = await a_schedule(store, "C-d")
    async with store.unit_of_work() as uow:
        await uow.schedules.set_paused(paused_later.id, True, T0)
        assert await uow.schedules.active() == [first, far]


async def test_record_rotation(store: SqlStore) -> None:
    schedule = await a_schedule(store)
    async with store.unit_of_work() as uow:
        await uow.schedules.record_rotation(schedule.id, ("a", "b", "c"), 3)
        await uow.commit()
    stored = await _get(store, schedule.id)
    assert stored is not None
    assert (stored.themes_used, stored.posts_sent) == (("a", "b", "c"), 3)
    async with store.unit_of_work() as uow:
        await uow.schedules.record_rotation(schedule.id, (), 4)  # a new round begins
        await uow.commit()
    stored = await _get(store, schedule.id)
    assert stored is not None
    assert (stored.themes_used, stored.posts_sent) == ((), 4)


@pytest.mark.parametrize("theme", ["a,b", "", " "])
async def test_theme_names_that_cannot_be_stored_are_refused(store: SqlStore, theme: str) -> None:
    schedule = await a_schedule(store)
    async with store.unit_of_work() as uow:
        with pytest.raises(ValueError, match="theme"):
            await uow.schedules.record_rotation(schedule.id, ("fine", theme), 1)


async def test_failures_count_up_and_reset(store: SqlStore) -> None:
    schedule = await a_schedule(store)
    async with store.unit_of_work() as uow:
        assert [await uow.schedules.record_failure(schedule.id) for _ in range(3)] == [1, 2, 3]
        await uow.commit()
    stored = await _get(store, schedule.id)
    assert stored is not None and stored.failures == 3
    async with store.unit_of_work() as uow:
        await uow.schedules.reset_failures(schedule.id)
        assert await uow.schedules.record_failure(schedule.id) == 1
        assert await uow.schedules.record_failure(schedule.id + 1000) == 0
        await uow.commit()


async def test_failures_from_two_processes_at_once_both_count(store: SqlStore, other_store: SqlStore) -> None:
    schedule = await a_schedule(store)

    async def fail(on: SqlStore) -> int:
        async with on.unit_of_work() as uow:
            count = await uow.schedules.record_failure(schedule.id)
            await uow.commit()
            return count

    counts = await asyncio.gather(*(fail(on) for on in [store, other_store] * 5))
    assert sorted(counts) == list(range(1, 11))


async def test_two_admins_setting_one_channel_at_once_make_one_schedule(
    store: SqlStore, other_store: SqlStore
) -> None:
    async def set_(on: SqlStore, weekday: int) -> Schedule:
        async with on.unit_of_work() as uow:
            schedule = await uow.schedules.upsert(WORKSPACE, "C-help", weekday, MONDAY_0930, "UTC", False, T0)
            await uow.commit()
            return schedule

    made = await asyncio.gather(*(set_(on, n % 7) for n, on in enumerate([store, other_store] * 3)))
    assert len({schedule.id for schedule in made}) == 1
    async with store.unit_of_work() as uow:
        assert len(await uow.schedules.active()) == 1

"""SqlUnitOfWork and SqlStore: transactions and StorageError, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.errors import StorageError
from bot.ports import UnitOfWork, UnitOfWorkFactory
from storage import SqlStore, SqlUnitOfWork
from tests.storage.storage_testing import T0, WORKSPACE, new_ask


async def _asks_by(store: SqlStore, asker_id: str = "U-asker") -> int:
    async with store.unit_of_work() as uow:
        return len(await uow.asks.by_asker(WORKSPACE, asker_id))


def test_the_store_hands_out_fresh_units_of_work(store: SqlStore) -> None:
    factory: UnitOfWorkFactory = store.unit_of_work
    first: UnitOfWork = factory()
    assert isinstance(first, SqlUnitOfWork)
    assert factory() is not first


async def test_commit_makes_work_permanent(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        await uow.asks.add(new_ask())
        await uow.commit()
    assert await _asks_by(store) == 1


async def test_leaving_without_commit_rolls_back(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        await uow.asks.add(new_ask())
    assert await _asks_by(store) == 0


async def test_work_after_commit_is_rolled_back_without_another_commit(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        await uow.asks.add(new_ask("U-kept"))
        await uow.commit()
        await uow.asks.add(new_ask("U-dropped"))
    assert (await _asks_by(store, "U-kept"), await _asks_by(store, "U-dropped")) == (1, 0)


async def test_an_error_rolls_back_and_propagates_unchanged(store: SqlStore) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with store.unit_of_work() as uow:
            await uow.asks.add(new_ask())
            raise Boom
    assert await _asks_by(store) == 0


async def test_a_unit_of_work_can_be_used_again(store: SqlStore) -> None:
    uow = store.unit_of_work()
    async with uow:
        await uow.asks.add(new_ask())
    async with uow:
        await uow.asks.add(new_ask())
        await uow.commit()
    assert await _asks_by(store) == 1


async def test_a_constraint_violation_is_a_storage_error(store: SqlStore) -> None:
    with pytest.raises(StorageError) as raised:
        async with store.unit_of_work() as uow:
            await uow.asks.add_offer(999_999, "U-secret-helper", T0)  # no such ask
    error = raised.value
    assert error.__cause__ is not None
    assert "add_offer" in str(error)
    # No statement parameter (member ids!) in the message or in the chained cause.
    assert "U-secret-helper" not in str(error)
    assert "U-secret-helper" not in str(error.__cause__)


async def test_a_failed_statement_leaves_the_store_usable(store: SqlStore) -> None:
    with pytest.raises(StorageError):
        async with store.unit_of_work() as uow:
            await uow.asks.add(new_ask())
            await uow.asks.add_offer(999_999, "U-helper", T0)
            await uow.commit()
    assert await _asks_by(store) == 0
    async with store.unit_of_work() as uow:
        await uow.asks.add(new_ask())
        await uow.commit()
    assert await _asks_by(store) == 1


async def test_a_naive_datetime_is_refused(store: SqlStore) -> None:
    naive = datetime(2026, 3, 2, 9, 30)  # noqa: DTZ001 - the point of the test
    with pytest.raises(StorageError, match="naive datetime"):
        async with store.unit_of_work() as uow:
            await uow.asks.add(new_ask(at=naive))


async def test_ping(store: SqlStore) -> None:
    await store.ping()

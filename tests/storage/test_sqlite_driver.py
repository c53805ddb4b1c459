"""SQLite statements take one call into the driver's thread each (`storage.sqlite_driver`),
and give SQLAlchemy what a cursor would: rows, row counts, last row ids, errors."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import MessageRef, NewInboxItem
from storage import SqlStore, create_engine
from storage.sqlite_driver import INLINE
from tests.storage.storage_testing import WORKSPACE


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions aiosqlite ran in its thread, in order."""
    seen: list[str] = []
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return seen


async def test_a_statement_is_one_call_into_the_drivers_thread(tmp_path: Path,
                                                                calls: list[str]) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'one.db'}")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
            calls.clear()
            rows = (await connection.execute(text("SELECT 1 AS a, 'two' AS b"))).all()
            assert [tuple(r) for r in rows] == [(1, "two")] and calls == ["_run"]

            calls.clear()
            inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
            assert inserted.rowcount == 1 and inserted.lastrowid == 1 and calls == ["_run"]

            many = await connection.execute(text("INSERT INTO t (name) VALUES (:name)"),
                                            [{"name": n} for n in "bcd"])
            assert many.rowcount == 3
            changed = await connection.execute(text("UPDATE t SET name = name || '!' WHERE id > 2"))
            assert changed.rowcount == 2
            returned = await connection.execute(
                text("UPDATE t SET name = upper(name) WHERE id <= 2 RETURNING id, name"))
            assert sorted(tuple(r) for r in returned) == [(1, "A"), (2, "B")]
            assert list((await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars()) \
                == ["A", "B", "c!", "d!"]
    finally:
        await engine.dispose()


async def test_errors_are_sqlalchemys_and_the_connection_goes_on(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'errors.db'}")
    try:
        async with engine.connect() as connection:
            await _errors_are_sqlalchemys(connection)
    finally:
        await engine.dispose()


async def _errors_are_sqlalchemys(connection: AsyncConnection) -> None:
    """A failing statement raises SQLAlchemy's error, and the connection goes on."""
    await connection.execute(text("CREATE TABLE t (name TEXT UNIQUE)"))
    await connection.execute(text("INSERT INTO t VALUES ('a')"))
    with pytest.raises(IntegrityError):
        await connection.execute(text("INSERT INTO t VALUES ('a')"))
    with pytest.raises(OperationalError):
        await connection.execute(text("SELECT * FROM nowhere"))
    assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1


@pytest.fixture
async def sqlite_store(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[SqlStore]:
    path = tmp_path / "leanon.db"
    shutil.copy(sqlite_template, path)
    store = SqlStore(create_engine(f"sqlite:///{path}"))
    await store.ping()  # its one connection made: what it costs is not counted below
    yield store
    await store.close()


async def test_an_urgent_unit_of_work_runs_its_statements_where_it_is(
        sqlite_store: SqlStore, calls: list[str]) -> None:
    """What a platform waits on: the write lock taken and every statement run on the event
    loop's thread; only the commit goes into the driver's thread."""
    calls.clear()
    async with sqlite_store.urgent_unit_of_work() as uow:
        await uow.workspaces.settings(WORKSPACE)
        assert await uow.asks.by_messages(WORKSPACE, {MessageRef("C1", "1.0")}) == {}
        await uow.inbox.put_many([_item("d1"), _item("d2")])
        await uow.commit()
    assert calls == ["commit"]
    async with sqlite_store.urgent_unit_of_work() as uow:  # and it was committed
        assert len(await uow.inbox.put_many([_item("d1"), _item("d3")])) == 2
        await uow.commit()
    calls.clear()

    # Any other unit of work makes its calls into the thread, as before.
    async with sqlite_store.unit_of_work() as uow:
        await uow.workspaces.settings(WORKSPACE)
        await uow.commit()
    assert calls == ["_run", "_run", "commit"]  # BEGIN IMMEDIATE, the read, the commit
    calls.clear()
    async with sqlite_store.reading_unit_of_work() as uow:
        await uow.workspaces.settings(WORKSPACE)
    assert calls == ["_run", "_run", "rollback"]  # BEGIN, the read, the rollback


async def test_an_urgent_unit_of_work_waits_for_another_process_in_the_thread(
        sqlite_store: SqlStore, tmp_path: Path, calls: list[str]) -> None:
    """Another process holding the write lock: the urgent unit of work waits for it in
    the driver's thread, and the event loop goes on meanwhile."""
    other = sqlite3.connect(tmp_path / "leanon.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> list[int | None]:
        async with sqlite_store.urgent_unit_of_work() as uow:
            stored = await uow.inbox.put_many([_item("d1")])
            await uow.commit()
            return stored

    calls.clear()
    ticker = asyncio.create_task(ticking())
    try:
        writing = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not writing.done() and ticks >= 10  # waiting, and the loop is not blocked
        other.rollback()
        assert await asyncio.wait_for(writing, 5) != [None]
    finally:
        ticker.cancel()
        other.close()
    assert calls[0] == "_run"  # BEGIN IMMEDIATE, waited for in the thread
    async with sqlite_store.urgent_unit_of_work() as uow:  # the next one takes it at once
        calls.clear()
        await uow.inbox.put_many([_item("d2")])
        await uow.commit()
    assert calls == ["commit"]


async def test_an_urgent_unit_of_works_errors_are_sqlalchemys_and_it_goes_on(
        sqlite_store: SqlStore) -> None:
    async with sqlite_store.engine.connect() as plain:
        connection = await plain.execution_options(**{INLINE: True})
        async with connection.begin():
            await _errors_are_sqlalchemys(connection)
        async with connection.begin() as transaction:
            await connection.execute(text("INSERT INTO t VALUES ('b')"))
            await transaction.rollback()
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1


def _item(key: str) -> NewInboxItem:
    return NewInboxItem("slack", key, WORKSPACE, "ask", "{}", datetime(2026, 12, 4, tzinfo=UTC))

"""SQLite statements take one call into the driver's thread each (`storage.sqlite_driver`),
and give SQLAlchemy what a cursor would: rows, row counts, last row ids, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from storage import create_engine


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
            await connection.execute(text("CREATE TABLE t (name TEXT UNIQUE)"))
            await connection.execute(text("INSERT INTO t VALUES ('a')"))
            with pytest.raises(IntegrityError):
                await connection.execute(text("INSERT INTO t VALUES ('a')"))
            with pytest.raises(OperationalError):
                await connection.execute(text("SELECT * FROM nowhere"))
            assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
    finally:
        await engine.dispose()

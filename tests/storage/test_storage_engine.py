"""URLs, engine settings and unreachable databases."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text

from bot.errors import ConfigError, StorageError
from storage import SqlStore, create_engine, database_url, upgrade
from storage import engine as engine_module
from tests.storage.storage_testing import WORKSPACE, new_ask, terminate_backend

CLOSED_PORT_URL = "postgresql://postgres@127.0.0.1:1/leanon"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///leanon.db", "sqlite+aiosqlite:///leanon.db"),
        ("sqlite:////var/lib/leanon/leanon.db", "sqlite+aiosqlite:////var/lib/leanon/leanon.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("  sqlite:///x.db\n", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u:p@db:5432/leanon", "postgresql+asyncpg://u:p@db:5432/leanon"),
        ("postgres://u:p@db/leanon?ssl=require", "postgresql+asyncpg://u:p@db/leanon?ssl=require"),
        ("POSTGRES://u@db/leanon", "postgresql+asyncpg://u@db/leanon"),
        ("postgresql+asyncpg://u@db/leanon", "postgresql+asyncpg://u@db/leanon"),
        ("postgresql+psycopg://u@db/leanon", "postgresql+psycopg://u@db/leanon"),
        ("sqlite+pysqlite:///x.db", "sqlite+pysqlite:///x.db"),
    ],
)
def test_database_url_picks_the_async_driver(given: str, expected: str) -> None:
    assert database_url(given) == expected


@pytest.mark.parametrize("given", ["", "leanon.db", "mysql://u@db/leanon", "redis://localhost"])
def test_database_url_refuses_what_leanon_cannot_use(given: str) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        database_url(given)


async def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    finally:
        await engine.dispose()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10_000}


@pytest.mark.postgres
async def test_postgresql_connections_compile_no_plans(postgres_migrated: str) -> None:
    """JIT compilation is off: it cost more than the insights page's counts themselves."""
    engine = create_engine(postgres_migrated)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SHOW jit"))).scalar_one() == "off"
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_postgresql_pings_only_a_connection_that_sat_idle_and_replaces_a_dead_one(
        postgres_migrated: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """No round trip before a transaction on a connection used a moment ago; one that
    waited in the pool is pinged, and when the server dropped it meanwhile, the work goes
    on a new connection instead of failing."""
    engine = create_engine(postgres_migrated)
    pings: list[object] = []
    real_ping = engine.dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)

    async def backend() -> int:
        async with engine.connect() as connection:
            return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())

    try:
        first = await backend()
        assert [await backend() for _ in range(3)] == [first] * 3 and pings == []
        monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.05)
        await asyncio.sleep(0.1)
        assert await backend() == first and len(pings) == 1  # pinged, alive
        await terminate_backend(postgres_migrated, first)
        await asyncio.sleep(0.1)
        assert await backend() != first and len(pings) == 2  # pinged, found gone, replaced
    finally:
        await engine.dispose()


async def test_sqlite_writers_queue_for_the_write_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    await upgrade(url)
    async with SqlStore.from_url(url) as first, SqlStore.from_url(url) as second:
        async with first.unit_of_work() as holding:
            await holding.asks.add(new_ask("U-first"))

            async def write_meanwhile() -> None:
                async with second.unit_of_work() as uow:  # BEGIN IMMEDIATE waits here
                    await uow.asks.add(new_ask("U-second"))
                    await uow.commit()

            waiting = asyncio.create_task(write_meanwhile())
            await asyncio.sleep(0.3)
            assert not waiting.done()  # waiting for the lock, not failed
            await holding.commit()
        await asyncio.wait_for(waiting, timeout=5)

        async with first.unit_of_work() as uow:
            assert len(await uow.asks.list_open(WORKSPACE)) == 2


async def test_a_reading_unit_of_work_neither_holds_nor_waits_for_the_write_lock(
        tmp_path: Path) -> None:
    """The insights page of a large workspace reads for a few hundred milliseconds: in a
    unit of work that takes the write lock, every answer of the process waited behind it."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    await upgrade(url)
    async with SqlStore.from_url(url) as store, SqlStore.from_url(url) as other:
        async with store.reading_unit_of_work() as reading:
            assert await reading.asks.list_open(WORKSPACE) == []
            for writer in (store, other):  # this process's turn, and another process
                async with writer.unit_of_work() as uow:
                    await asyncio.wait_for(uow.asks.add(new_ask("U-writer")), timeout=2)
                    await asyncio.wait_for(uow.commit(), timeout=2)
            async with store.unit_of_work() as holding:  # a writer holds the lock...
                await holding.asks.add(new_ask("U-holding"))
                async with store.reading_unit_of_work() as meanwhile:  # ...and a read begins
                    assert len(await asyncio.wait_for(
                        meanwhile.asks.list_open(WORKSPACE), timeout=2)) == 2
                await holding.commit()
        async with store.unit_of_work() as uow:
            assert len(await uow.asks.list_open(WORKSPACE)) == 3


async def test_one_process_queues_its_sqlite_units_of_work_without_the_busy_handler(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    await upgrade(url)
    async with SqlStore.from_url(url) as store:

        def no_busy_wait(dbapi_connection: object, _record: object) -> None:
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA busy_timeout = 0")  # a second writer would fail at once
            cursor.close()

        event.listen(store.engine.sync_engine, "connect", no_busy_wait)
        order: list[int] = []

        async def write(n: int) -> None:
            async with store.unit_of_work() as uow:
                order.append(n)
                await uow.asks.add(new_ask(f"U-{n}"))
                await asyncio.sleep(0.01)  # hold the write lock while the others arrive
                await uow.commit()

        await asyncio.gather(*(write(n) for n in range(20)))
        assert order == list(range(20))  # first come, first served
        async with store.unit_of_work() as uow:
            assert len(await uow.asks.list_open(WORKSPACE)) == 20


async def test_a_unit_of_work_cancelled_mid_statement_leaves_the_sqlite_file_unlocked(
        tmp_path: Path) -> None:
    """A shutdown cancels a worker in the middle of a statement: the next start (another
    process) must find the write lock free, even while the cancelled cursor lives on."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    await upgrade(url)
    slow = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
            "WHERE x < 20000000) SELECT count(*) FROM c")
    kept: list[BaseException] = []  # the traceback keeps the cursor, as logs and tasks do

    async with SqlStore.from_url(url) as store:
        async def work() -> None:
            try:
                async with store.unit_of_work() as uow:
                    await uow.asks.add(new_ask("U-cancelled"))
                    await uow._session.execute(text(slow))  # a statement still running
            except BaseException as exc:
                kept.append(exc)
                raise

        gc.disable()  # no collection may finalize the cursor behind the test's back
        try:
            task = asyncio.create_task(work())
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            gc.enable()
    assert kept

    other = sqlite3.connect(tmp_path / "x.db", timeout=0.5, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # "database is locked" without the rollback
        assert other.execute("SELECT count(*) FROM asks").fetchone() == (0,)
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_an_unreachable_postgresql_is_a_storage_error() -> None:
    async with SqlStore.from_url(CLOSED_PORT_URL) as store:
        with pytest.raises(StorageError, match="starting a database transaction") as raised:
            async with store.unit_of_work():
                pass
        assert isinstance(raised.value.__cause__, ConnectionRefusedError)
        with pytest.raises(StorageError, match="pinging"):
            await store.ping()
    with pytest.raises(StorageError, match="migrating"):
        await upgrade(CLOSED_PORT_URL)


async def test_an_unopenable_sqlite_file_is_a_storage_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'leanon.db'}"
    async with SqlStore.from_url(url) as store:
        with pytest.raises(StorageError, match="unable to open database file"):
            async with store.unit_of_work():
                pass
        with pytest.raises(StorageError):
            await store.ping()
    await _aiosqlite_workers_stopped()


async def _aiosqlite_workers_stopped() -> None:
    """Let aiosqlite's worker threads finish before the test's event loop closes.

    When a connection fails to open, aiosqlite stops its thread without awaiting it; the
    thread then reports to the loop, which must still be open.
    """
    for _ in range(200):
        workers = [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]
        if not any(t.is_alive() for t in workers):
            return
        await asyncio.sleep(0.01)


async def test_a_database_without_tables_is_a_storage_error(tmp_path: Path) -> None:
    async with SqlStore.from_url(f"sqlite:///{tmp_path / 'empty.db'}") as store:
        with pytest.raises(StorageError, match="no such table"):
            async with store.unit_of_work() as uow:
                await uow.asks.list_open(WORKSPACE)

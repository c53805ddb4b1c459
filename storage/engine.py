"""Building the async engine from `DATABASE_URL`, with SQLite made safe for concurrent writers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, cast

from sqlalchemy import event, exc
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.errors import ConfigError
from storage import sqlite_driver

SQLITE_BUSY_TIMEOUT_SECONDS = 10.0
"""How long a SQLite writer waits for another one before giving up ("database is locked")."""

_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_ALIASES = {"postgres": "postgresql"}


def database_url(url: str) -> str:
    """`url` with the async driver leanon uses: aiosqlite for SQLite, asyncpg for PostgreSQL.

    `sqlite:///leanon.db` becomes `sqlite+aiosqlite:///leanon.db`; `postgres://` and
    `postgresql://` become `postgresql+asyncpg://`. An explicit driver is kept as given.
    """
    url = url.strip()
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ConfigError("DATABASE_URL must look like sqlite:///leanon.db or postgresql://user@host/db")
    backend, plus, driver = scheme.partition("+")
    backend = _ALIASES.get(backend.lower(), backend.lower())
    if backend not in _DRIVERS:
        raise ConfigError(f"DATABASE_URL uses {scheme!r}; leanon supports sqlite:// and postgresql:// only")
    scheme = f"{backend}+{driver}" if plus else _DRIVERS[backend]
    return f"{scheme}://{rest}"


# The execution option of a connection whose transaction only reads (`SqlStore.reading_unit_of_work`).
READING = "leanon_reading"


def create_engine(url: str, *, foreign_keys: bool = True, echo: bool = False) -> AsyncEngine:
    """An async engine for `url` (normalised by `database_url`).

    On SQLite every connection uses WAL, a busy timeout and `foreign_keys=ON`, and
    every transaction starts with `BEGIN IMMEDIATE`, so that concurrent writers queue
    for the write lock instead of failing half-way; one that only reads (the `READING`
    execution option) starts with a plain `BEGIN` and never holds that lock. `foreign_keys=False` is for
    migrations only: a batch table rebuild must not cascade deletes.

    Statement parameters never appear in logs or error messages (`hide_parameters`),
    because they may hold an anonymous asker's identity.
    """
    url = database_url(url)
    options: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        if "+aiosqlite" in url:  # one trip to the driver's thread a statement
            options["module"] = sqlite_driver.dbapi(int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000))
        engine = create_async_engine(url, **options)
        _configure_sqlite(engine, foreign_keys=foreign_keys)
        return engine
    if url.startswith("postgresql+asyncpg"):
        # No JIT compilation: leanon's statements are short, and compiling a plan that
        # PostgreSQL estimates as costly (the insights page's counts) took longer than
        # running it (40 to 50 ms a statement).
        options["connect_args"] = {"server_settings": {"jit": "off"}}
    engine = create_async_engine(url, **options)
    _ping_when_idle(engine)
    return engine


IDLE_PING_SECONDS = 1.0
"""A pooled connection unused for this long is pinged before it is used again."""
_IDLE_SINCE = "leanon_idle_since"


def _ping_when_idle(engine: AsyncEngine) -> None:
    """SQLAlchemy's `pool_pre_ping`, for connections that sat in the pool a while only.

    A ping is a round trip to the server before every transaction: on the answer path, a
    tenth of a batch of reactions. A connection used within the last second is as alive as
    a ping would find it; one that waited longer (a restarted server, a proxy's idle
    timeout) is pinged, and when the ping finds it gone, every pooled connection is
    replaced, as with `pool_pre_ping`.
    """
    dialect = engine.dialect

    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return  # new, or used a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            if dialect.is_disconnect(cast(Any, error), dbapi_connection, None):
                record.info.pop(_IDLE_SINCE, None)
                raise exc.InvalidatePoolError("the pooled connection was gone") from error
            raise

    event.listen(engine.sync_engine, "checkin", on_checkin)
    event.listen(engine.sync_engine, "checkout", on_checkout)


def _configure_sqlite(engine: AsyncEngine, *, foreign_keys: bool) -> None:
    """SQLAlchemy's documented recipe: leanon, not the driver, emits BEGIN."""
    pragmas = (
        f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}",
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL",
        f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}",
    )

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The aiosqlite adapter's isolation_level setter runs on the driver's own
        # thread; None turns off the driver's implicit BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    def on_begin(connection: Connection) -> None:
        # A unit of work that only reads takes no write lock: WAL lets it read beside writers.
        options = connection.get_execution_options()
        reading = options.get(READING, False)
        if not reading and options.get(sqlite_driver.INLINE, False):
            adapted = connection.connection.dbapi_connection
            if isinstance(adapted, sqlite_driver.OneTripConnection):
                adapted.inline = True  # its statements run where they are (sqlite_driver)
        connection.exec_driver_sql("BEGIN" if reading else sqlite_driver.BEGIN_IMMEDIATE)

    def on_invalidate(dbapi_connection: Any, _record: Any, _error: BaseException | None) -> None:
        # A task cancelled in the middle of a statement (a shutdown) makes SQLAlchemy drop
        # its connection without a rollback. SQLite closes a connection whose statements
        # are not finalized yet (the cursor lives on in the traceback) as a "zombie" that
        # keeps its transaction, and so the write lock, until garbage collection: any other
        # process (the next start) would find the database locked. Roll back first. (A
        # second cancellation only stops the wait: the shielded rollback goes on, and the
        # first one is already on its way out.)
        with contextlib.suppress(Exception, asyncio.CancelledError):
            dbapi_connection.run_async(lambda driver: asyncio.shield(driver.rollback()))

    event.listen(engine.sync_engine, "connect", on_connect)
    event.listen(engine.sync_engine, "begin", on_begin)
    event.listen(engine.sync_engine, "invalidate", on_invalidate)

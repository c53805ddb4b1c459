"""SQLAlchemy's aiosqlite adapter with one trip to the driver's thread per statement.

aiosqlite runs each call on the SQLite connection in its own thread and hands the result
back to the event loop; SQLAlchemy's adapter makes four such calls for every statement
(a cursor, the statement, its rows, closing the cursor). On a busy event loop each hand-back
waits for the loop's next turn, so a unit of work of nine statements waited for some
thirty-six turns of a loop busy with other requests, and everything queued behind it (the
group-committed reactions on the answer path) waited too. Here the four are one: the
statement runs and its rows are fetched and the cursor closed in the driver's thread, in
one call, and what SQLAlchemy reads of the cursor afterwards (description, row count,
last row id) comes back with the rows.

A call into the thread costs more than a short statement itself: some 90 µs of CPU and
150 µs before the loop has the result (two thread wake-ups), against 2 µs for an indexed
look-up run where it is. So the statements of a unit of work that a platform waits on
(`SqlStore.urgent_unit_of_work`, which asks for it with the `INLINE` execution option) run
on the event loop's own thread once their transaction holds the write lock: SQLite gives a
writer every page it asks for at once in WAL mode, and such a unit of work is a few
indexed statements. Taking the lock itself may mean waiting for another process: `BEGIN
IMMEDIATE` is tried where it is, with no busy timeout, and on SQLITE_BUSY waits in the
driver's thread as before. The commit goes to the thread too (when the write-ahead log is
full, SQLite checkpoints it then, with an fsync). The connections are opened with
`check_same_thread=False` for this; a connection's statements never overlap (each holds
the adapted connection's mutex).

This reaches into aiosqlite as SQLAlchemy's own adapter does (the connection's call queue
and its `sqlite3.Connection`); the versions are pinned in constraints.txt and the storage
tests run every statement leanon has through it.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

INLINE = "leanon_inline"
"""The execution option of a unit of work whose statements run on the event loop's thread
once it holds the write lock (`storage.engine` reads it when the transaction begins)."""
BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"


class _Ran:
    """What SQLAlchemy reads of a DB-API cursor once its statement ran."""

    __slots__ = ("arraysize", "description", "lastrowid", "rowcount")

    def __init__(self, description: Any = None, rowcount: int = -1,
                 lastrowid: int | None = None) -> None:
        self.description = description
        self.rowcount = rowcount
        self.lastrowid = lastrowid
        self.arraysize = 1

    def close(self) -> None:
        """Closed already, in the driver's thread."""


def _run(connection: sqlite3.Connection, operation: str, parameters: Any,
         many: bool) -> tuple[_Ran, list[Any] | None]:
    """In the driver's thread: the statement, its rows, the cursor closed."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else None
        return _Ran(cursor.description, cursor.rowcount, cursor.lastrowid), rows
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statements each take one call into the driver's thread."""

    __slots__ = ()
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        # No cursor is opened in the driver's thread until a statement runs (`_run`).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = _Ran()  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._in_thread(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any,
                                 seq_of_parameters: Sequence[Any]) -> Any:
        await self._in_thread(operation, seq_of_parameters, many=True)

    async def _in_thread(self, operation: Any, parameters: Any, *, many: bool) -> None:
        adapted, driver = cast(OneTripConnection, self._adapt_connection), self._connection
        async with adapted._execute_mutex:
            if not adapted.inline:
                ran, rows = await driver._execute(_run, driver._conn, operation, parameters, many)
            elif operation == BEGIN_IMMEDIATE:
                ran, rows = await _begin_immediate(driver, adapted.busy_timeout_ms)
            else:
                ran, rows = _run(driver._conn, operation, parameters, many)
        self._cursor = ran
        if rows is not None:
            self._rows = collections.deque(rows)


async def _begin_immediate(driver: Any, busy_timeout_ms: int) -> tuple[_Ran, None]:
    """Take the write lock where we are when no other process holds it; else wait for it,
    up to the busy timeout, in the driver's thread."""
    connection: sqlite3.Connection = driver._conn
    connection.execute("PRAGMA busy_timeout = 0")
    try:
        connection.execute(BEGIN_IMMEDIATE)
        return _Ran(), None
    except sqlite3.OperationalError as error:
        if getattr(error, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
            raise
    finally:
        connection.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    return await driver._execute(_run, connection, BEGIN_IMMEDIATE, None, False)  # type: ignore[no-any-return]


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """`inline` (set as a transaction begins, cleared as it ends): its statements run on
    the event loop's thread (see the module's text)."""

    __slots__ = ("busy_timeout_ms", "inline")
    _cursor_cls = OneTripCursor
    busy_timeout_ms: int
    inline: bool

    def commit(self) -> None:
        self.inline = False
        super().commit()

    def rollback(self) -> None:
        """A rollback, but no trip into the driver's thread when no transaction is open:
        the pool rolls back every connection it is given back, most of them just committed.
        (`in_transaction` reads SQLite's autocommit flag; it may be read from any thread.)"""
        self.inline = False
        driver = self._connection._connection
        if driver is not None and not driver.in_transaction:
            return
        super().rollback()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DB-API module SQLAlchemy's aiosqlite dialect is given (`create_engine(module=…)`)."""

    def __init__(self, aiosqlite: Any, sqlite: Any, busy_timeout_ms: int) -> None:
        super().__init__(aiosqlite, sqlite)
        self.busy_timeout_ms = busy_timeout_ms

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        kw["check_same_thread"] = False  # its statements may run on the loop's thread
        connection = OneTripConnection(self, super().connect(*arg, **kw)._connection)
        connection.busy_timeout_ms = self.busy_timeout_ms
        connection.inline = False
        return connection


def dbapi(busy_timeout_ms: int) -> OneTripDBAPI:
    """The module, for connections whose busy timeout is `busy_timeout_ms`."""
    import aiosqlite

    return OneTripDBAPI(aiosqlite, sqlite3, busy_timeout_ms)

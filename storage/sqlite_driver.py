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

This reaches into aiosqlite as SQLAlchemy's own adapter does (the connection's call queue
and its `sqlite3.Connection`); the versions are pinned in constraints.txt and the storage
tests run every statement leanon has through it.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT


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
        driver = self._connection
        async with self._adapt_connection._execute_mutex:
            ran, rows = await driver._execute(_run, driver._conn, operation, parameters, many)
        self._cursor = ran
        if rows is not None:
            self._rows = collections.deque(rows)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DB-API module SQLAlchemy's aiosqlite dialect is given (`create_engine(module=…)`)."""

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        connection = super().connect(*arg, **kw)
        connection.__class__ = OneTripConnection
        return connection


def dbapi() -> OneTripDBAPI:
    import aiosqlite

    return OneTripDBAPI(aiosqlite, sqlite3)

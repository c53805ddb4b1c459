"""Electing the one process that runs scheduled work (`bot.ports.LeaderLock`).

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) taken on one
dedicated connection that stays checked out of the engine's pool, in autocommit (an
idle session, never an idle transaction), for as long as the process leads. The server
drops the lock when that session ends, so a crashed or cut-off leader frees it.

SQLite: a single machine owns the database file, so the lock is an exclusive,
non-blocking `flock` on `<database file>.leader` (the lock file is left in place:
deleting it would let two processes lock two different files). `flock` locks belong to
the open file, so two locks in one process exclude each other too.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import os
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.errors import ConfigError
from storage.engine import create_engine, database_url
from storage.errors import DATABASE_ERRORS, storage_error

if TYPE_CHECKING:
    from bot.ports import LeaderLock

log = logging.getLogger(__name__)

T = TypeVar("T")

LEADER_LOCK_NAME = "leanon-scheduler"
"""The lock the scheduler's replicas compete for."""

CONNECTION_TIMEOUT_SECONDS = 5.0
"""How long a statement on the lock's connection may take before the connection counts as dead."""


def lock_key(name: str) -> int:
    """A fixed advisory-lock key for `name`: a signed 64-bit integer (PostgreSQL's bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class PostgresLeaderLock:
    """`bot.ports.LeaderLock` as a PostgreSQL advisory lock held on a dedicated connection.

    `acquire()` is cheap to call on every scheduler tick: while leading it only runs
    `SELECT 1` on the held connection. When that fails (the connection was closed,
    terminated or cut off), leadership is lost: that call returns False and the next
    one tries again on a fresh connection. Errors reaching the database for a fresh
    connection are StorageErrors; `release()` never raises (whatever fails there, the
    session is closed, and its lock goes with it).
    """

    def __init__(
        self, engine: AsyncEngine, name: str = LEADER_LOCK_NAME, *, owns_engine: bool = False
    ) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError(f"an advisory lock needs PostgreSQL, not {engine.dialect.name}")
        self.name = name
        self.key = lock_key(name)
        self._engine = engine
        self._owns_engine = owns_engine
        self._connection: AsyncConnection | None = None
        self._guard = asyncio.Lock()

    async def acquire(self) -> bool:
        """Without waiting: True when this process holds the lock (now or already)."""
        async with self._guard:
            if self._connection is not None:
                if await self._alive(self._connection):
                    return True
                log.warning("leader lock %r lost: its database connection died", self.name)
                await _discard(self._connection)
                self._connection = None
                return False
            connection = await self._connect()
            try:
                try_lock = connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
                taken = await _within(try_lock)
            except BaseException as error:
                # Failed or cancelled: the lock may be taken, so end the session, never pool it.
                await _discard(connection)
                if isinstance(error, DATABASE_ERRORS):
                    raise storage_error(error, "taking the leader lock") from error
                raise
            if not taken:
                await _close(connection)
                return False
            self._connection = connection
            return True

    async def release(self) -> None:
        """Give the lock up (when held) and return its connection; never raises."""
        async with self._guard:
            connection, self._connection = self._connection, None
            if connection is not None:
                try:
                    unlock = connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                    await _within(unlock)
                    await _close(connection)
                except DATABASE_ERRORS as error:  # TimeoutError is an OSError
                    log.warning(
                        "leader lock %r: unlocking failed (%s); closing its connection", self.name, error
                    )
                    await _discard(connection)
            if self._owns_engine:
                await self._engine.dispose()

    async def _connect(self) -> AsyncConnection:
        try:
            connection = await self._engine.connect()
        except DATABASE_ERRORS as error:
            raise storage_error(error, "connecting for the leader lock") from error
        try:
            # An idle session, not an idle transaction: nothing for vacuum or an
            # idle_in_transaction_session_timeout to trip over while leading for days.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        except BaseException as error:
            await _discard(connection)
            if isinstance(error, DATABASE_ERRORS):
                raise storage_error(error, "connecting for the leader lock") from error
            raise
        return connection

    async def _alive(self, connection: AsyncConnection) -> bool:
        try:
            await _within(connection.execute(text("SELECT 1")))
        except DATABASE_ERRORS:  # TimeoutError (from _within) is an OSError
            return False
        return True


class FileLeaderLock:
    """`bot.ports.LeaderLock` as an exclusive `flock` on a file next to the SQLite database."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).absolute()  # a later chdir must not move the lock
        self._fd: int | None = None

    async def acquire(self) -> bool:
        """Without waiting: True when this process holds the lock (now or already)."""
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise storage_error(error, "opening the leader lock file") from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError as error:
            os.close(fd)
            raise storage_error(error, "locking the leader lock file") from error
        self._fd = fd
        _write_pid(fd)
        return True

    async def release(self) -> None:
        """Give the lock up (when held); never raises."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError as error:  # pragma: no cover - closing below unlocks anyway
            log.warning("leader lock %s: unlocking failed (%s)", self.path, error)
        finally:
            os.close(fd)


def leader_lock(engine_or_url: AsyncEngine | str, name: str = LEADER_LOCK_NAME) -> LeaderLock:
    """The leader lock for a database: an engine already in use (e.g. `SqlStore.engine`),
    or a `DATABASE_URL` (the lock then has its own engine, disposed on `release()`).

    PostgreSQL: an advisory lock keyed by `name`. SQLite: a lock file beside the database,
    `<file>.leader` (`<file>.<name>.leader` for another name). In-memory SQLite is refused.
    """
    if isinstance(engine_or_url, str):
        url = make_url(database_url(engine_or_url))
        engine = None
    else:
        url = engine_or_url.url
        engine = engine_or_url
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if url.query.get("uri") == "true":
            database = database.removeprefix("file:").partition("?")[0]
        if database in ("", ":memory:"):
            raise ConfigError("leanon needs a SQLite file, not an in-memory database (sqlite:///leanon.db)")
        suffix = ".leader" if name == LEADER_LOCK_NAME else f".{name}.leader"
        return FileLeaderLock(database + suffix)
    if engine is None:
        return PostgresLeaderLock(create_engine(str(engine_or_url)), name, owns_engine=True)
    return PostgresLeaderLock(engine, name)


async def _within(operation: Awaitable[T]) -> T:
    async with asyncio.timeout(CONNECTION_TIMEOUT_SECONDS):
        return await operation


async def _close(connection: AsyncConnection) -> None:
    """Return a healthy connection to the pool (dropping it if that fails)."""
    try:
        await connection.close()
    except DATABASE_ERRORS:
        await _discard(connection)


async def _discard(connection: AsyncConnection) -> None:
    """Close a broken connection for good; the server ends its session and its locks."""
    for step in (connection.invalidate, connection.close):
        try:
            await step()
        except DATABASE_ERRORS as error:
            log.debug("closing a broken leader-lock connection: %s", error)


def _write_pid(fd: int) -> None:
    """Note the leader's process id in the lock file, for whoever wonders who leads."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as error:  # pragma: no cover - the lock is held all the same
        log.debug("leader lock file: could not write the pid: %s", error)


if TYPE_CHECKING:

    def _is_a_leader_lock(lock: PostgresLeaderLock | FileLeaderLock) -> LeaderLock:
        return lock

"""Applying Alembic migrations from the application, with the installed package's scripts.

Alembic (with mako and pygments, some 10 MB of a process) is imported only when there is
something to migrate: a start on a database already at `HEAD` reads its revision with
one query and goes on.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.engine import create_engine
from storage.errors import DATABASE_ERRORS, storage_error

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "0017"
"""The newest migration's revision (a test holds it to the scripts' head)."""

PACKAGE_DIR = Path(__file__).resolve().parent

# Alembic keeps the running migration in module globals (alembic.context, alembic.op),
# so two migrations must not interleave in one process; the database's own locks keep
# separate processes apart.
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _migration_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _locks.get(loop)
    if lock is None:
        lock = _locks[loop] = asyncio.Lock()
    return lock


def alembic_config() -> Config:
    """Alembic's configuration for leanon, wherever the package is installed."""
    from alembic.config import Config

    config = Config(str(PACKAGE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    return config


def head_revision() -> str:
    """The newest revision the installed code's scripts know."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - there is always a first revision
        raise RuntimeError("leanon ships no migrations")
    return head


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision`.

    Safe to call from a running event loop, and from several replicas at once.
    """
    if revision in ("head", HEAD) and await _at_head(url):
        return
    from alembic import command

    await _run(url, partial(command.upgrade, revision=revision))


async def downgrade(url: str, revision: str) -> None:
    """Migrate the database at `url` down to `revision` (`"base"` empties it)."""
    from alembic import command

    await _run(url, partial(command.downgrade, revision=revision))


async def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at; None before the first migration."""

    from alembic.runtime.migration import MigrationContext

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(read)
    except DATABASE_ERRORS as error:
        raise storage_error(error, "reading the schema revision") from error
    finally:
        await engine.dispose()


async def _at_head(url: str) -> bool:
    """Whether the database at `url` is at HEAD, read without Alembic; False when it can't
    be told (no revision table yet, or any error: Alembic then looks for itself)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    except DATABASE_ERRORS:
        return False
    finally:
        await engine.dispose()
    return [tuple(row) for row in rows] == [(HEAD,)]


async def _run(url: str, action: Callable[[Config], None]) -> None:
    engine = create_engine(url, foreign_keys=False)
    try:
        async with _migration_lock(), engine.begin() as connection:
            await connection.run_sync(_run_alembic, action)
    except DATABASE_ERRORS as error:
        raise storage_error(error, "migrating the database") from error
    finally:
        await engine.dispose()


def _run_alembic(connection: Connection, action: Callable[[Config], None]) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection  # env.py runs on this connection
    action(config)

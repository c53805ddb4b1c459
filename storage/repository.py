"""What every SQL repository shares: the session and the dialect's INSERT."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base

UpsertInsert = postgresql.Insert | sqlite.Insert
"""An INSERT with ON CONFLICT support; both dialects spell it the same way."""

SUPPORTED_DIALECTS = ("postgresql", "sqlite")

FRESH = {"populate_existing": True}
"""For SELECTs of rows: refresh rows the session already holds (an UPDATE may have changed them)."""
NO_SYNC = {"synchronize_session": False}
"""For bulk UPDATE/DELETE: don't try to patch rows in the session; FRESH selects reload them."""


class SqlRepository:
    """A repository working inside one unit of work's session."""

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        if dialect not in SUPPORTED_DIALECTS:
            raise ValueError(f"leanon stores data in SQLite or PostgreSQL, not {dialect}")
        self._session = session
        self._dialect = dialect

    def _insert(self, model: type[Base]) -> UpsertInsert:
        """`INSERT INTO model` in this database's dialect, for ON CONFLICT clauses."""
        return upsert(self._dialect, model)


def upsert(dialect: str, target: type[Base] | Table) -> UpsertInsert:
    """`INSERT INTO target` in `dialect`, for ON CONFLICT clauses (for statements built once
    per dialect, `functools.cache` on a function of the dialect)."""
    if dialect == "postgresql":
        return postgresql.insert(target)
    return sqlite.insert(target)


def table_of(model: type[Base]) -> Table:
    """The model's table, for Core statements on the answer path (no ORM objects)."""
    return cast(Table, model.__table__)


def rowcount(result: Result[Any]) -> int:
    """The number of rows an UPDATE or DELETE touched."""
    return cast(CursorResult[Any], result).rowcount

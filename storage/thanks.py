"""Thanks in SQL."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.sql.dml import ReturningInsert

from bot.domain import NewThanks, Thanks, WorkspaceRef
from storage.errors import translate_errors
from storage.mapping import in_workspace, to_thanks, workspace_columns
from storage.models import ThanksRow
from storage.repository import FRESH, NO_SYNC, SqlRepository, rowcount, table_of, upsert

_DEDUPE = ["platform", "workspace_id", "dedupe_key"]


@functools.cache
def _adding(dialect: str) -> ReturningInsert[Any]:
    """`add_many`'s statement, built once per database: on the table, returning the keys
    recorded (a batch of reactions needs no more of them, and loading them as ORM objects
    cost more than the insert)."""
    table = table_of(ThanksRow)
    return (upsert(dialect, table).on_conflict_do_nothing(index_elements=_DEDUPE)
            .returning(table.c.dedupe_key))


def _columns(new: NewThanks) -> dict[str, Any]:
    message = new.message
    return {
        **workspace_columns(new.workspace),
        "giver_id": new.giver_id,
        "receiver_id": new.receiver_id,
        "source": new.source.value,
        "reason": new.reason,
        "message_channel_id": message.channel_id if message else new.channel_id,
        "message_id": message.message_id if message else None,
        "emoji": new.emoji,
        "ask_id": new.ask_id,
        "created_at": new.created_at,
        "dedupe_key": new.dedupe_key,
    }


class SqlThanksRepository(SqlRepository):
    """`bot.ports.ThanksRepository` over SQL."""

    @translate_errors
    async def add(self, new: NewThanks) -> Thanks | None:
        """Record a thanks; None when `dedupe_key` already names an active thanks.

        The unique constraint on (platform, workspace_id, dedupe_key) decides, so two
        deliveries of the same reaction at the same moment record one thanks. A
        retracted thanks with the same key becomes active again and is returned; it
        keeps its original `created_at` and details (it is the same thanks, given
        again). A thanks without a `dedupe_key` is always recorded.

        Its channel is the message's when there is a message, else `new.channel_id`.
        """
        statement = (
            self._insert(ThanksRow)
            .values(**_columns(new))
            .on_conflict_do_nothing(index_elements=_DEDUPE)
            .returning(ThanksRow)
        )
        row = (await self._session.scalars(statement.execution_options(**FRESH))).one_or_none()
        if row is not None:
            return to_thanks(row)
        if new.dedupe_key is None:  # pragma: no cover - NULL keys never conflict
            raise AssertionError("a thanks without dedupe_key was not inserted")
        # Atomic: of two workers reviving the same thanks, only one matches the WHERE.
        revive = (
            update(ThanksRow)
            .where(
                in_workspace(ThanksRow, new.workspace),
                ThanksRow.dedupe_key == new.dedupe_key,
                ThanksRow.retracted_at.is_not(None),
            )
            .values(retracted_at=None)
            .returning(ThanksRow)
            .execution_options(**FRESH, **NO_SYNC)
        )
        row = (await self._session.scalars(revive)).one_or_none()
        return to_thanks(row) if row is not None else None

    @translate_errors
    async def retract(self, workspace: WorkspaceRef, dedupe_key: str, at: datetime) -> Thanks | None:
        """Retract the active thanks with this key; None when there is none."""
        statement = (
            update(ThanksRow)
            .where(
                in_workspace(ThanksRow, workspace),
                ThanksRow.dedupe_key == dedupe_key,
                ThanksRow.retracted_at.is_(None),
            )
            .values(retracted_at=at)
            .returning(ThanksRow)
            .execution_options(**FRESH, **NO_SYNC)
        )
        row = (await self._session.scalars(statement)).one_or_none()
        return to_thanks(row) if row is not None else None

    @translate_errors
    async def add_many(self, news: Sequence[NewThanks]) -> list[bool]:
        """`add` for many (see there): one INSERT … ON CONFLICT DO NOTHING for all, then one
        UPDATE reviving the retracted ones among those that were already there."""
        if not news:
            return []
        workspace = news[0].workspace
        keys = [new.dedupe_key for new in news]
        if any(new.workspace != workspace for new in news) or None in keys or len(set(keys)) < len(keys):
            raise ValueError("add_many takes thanks of one workspace with distinct dedupe keys")
        # Parameters as a list: SQLAlchemy's "insertmanyvalues" batches them into one cached
        # statement (a .values([...]) statement would be compiled anew for each batch size).
        rows = await self._session.execute(_adding(self._dialect), [_columns(new) for new in news])
        done = set(rows.scalars())
        there = [key for key in keys if key not in done]
        if there:
            revive = (
                update(ThanksRow)
                .where(
                    in_workspace(ThanksRow, workspace),
                    ThanksRow.dedupe_key.in_(there),
                    ThanksRow.retracted_at.is_not(None),
                )
                .values(retracted_at=None)
                .returning(ThanksRow.dedupe_key)
                .execution_options(**NO_SYNC)
            )
            done.update(await self._session.scalars(revive))
        return [key in done for key in keys]

    @translate_errors
    async def link_to_ask(self, workspace: WorkspaceRef, dedupe_key: str, ask_id: int) -> bool:
        statement = (
            update(ThanksRow)
            .where(
                in_workspace(ThanksRow, workspace),
                ThanksRow.dedupe_key == dedupe_key,
                ThanksRow.ask_id.is_(None),
            )
            .values(ask_id=ask_id)
            .execution_options(**NO_SYNC)
        )
        return rowcount(await self._session.execute(statement)) > 0

    @translate_errors
    async def with_keys(self, workspace: WorkspaceRef, keys: Sequence[str]) -> dict[str, Thanks]:
        """The thanks (active or retracted) that these dedupe keys name, by key."""
        if not keys:
            return {}
        query = select(ThanksRow).where(in_workspace(ThanksRow, workspace),
                                        ThanksRow.dedupe_key.in_(list(keys)))
        return {str(row.dedupe_key): to_thanks(row)
                for row in await self._session.scalars(query.execution_options(**FRESH))}

    @translate_errors
    async def count_given_since(self, workspace: WorkspaceRef, giver_id: str, since: datetime) -> int:
        """Active (not retracted) thanks the member gave since `since`."""
        query = select(func.count(ThanksRow.id)).where(
            in_workspace(ThanksRow, workspace),
            ThanksRow.giver_id == giver_id,
            ThanksRow.created_at >= since,
            ThanksRow.retracted_at.is_(None),
        )
        return (await self._session.execute(query)).scalar_one()

    @translate_errors
    async def forget_member(self, workspace: WorkspaceRef, user_id: str) -> int:
        """Delete every thanks the member gave or received; the number deleted."""
        statement = delete(ThanksRow).where(
            in_workspace(ThanksRow, workspace),
            or_(ThanksRow.giver_id == user_id, ThanksRow.receiver_id == user_id),
        )
        return rowcount(await self._session.execute(statement.execution_options(**NO_SYNC)))

    @translate_errors
    async def export(self, workspace: WorkspaceRef) -> list[Thanks]:
        """Every thanks of the workspace, retracted ones included, in the order given."""
        query = select(ThanksRow).where(in_workspace(ThanksRow, workspace)).order_by(ThanksRow.id)
        rows = await self._session.scalars(query.execution_options(**FRESH))
        return [to_thanks(row) for row in rows]

"""Thanks in SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, select, update

from bot.domain import NewThanks, Thanks, WorkspaceRef
from storage.errors import translate_errors
from storage.mapping import in_workspace, to_thanks, workspace_columns
from storage.models import ThanksRow
from storage.repository import FRESH, NO_SYNC, SqlRepository, rowcount

_DEDUPE = ["platform", "workspace_id", "dedupe_key"]


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
        message = new.message
        statement = (
            self._insert(ThanksRow)
            .values(
                **workspace_columns(new.workspace),
                giver_id=new.giver_id,
                receiver_id=new.receiver_id,
                source=new.source.value,
                reason=new.reason,
                message_channel_id=message.channel_id if message else new.channel_id,
                message_id=message.message_id if message else None,
                emoji=new.emoji,
                ask_id=new.ask_id,
                created_at=new.created_at,
                dedupe_key=new.dedupe_key,
            )
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

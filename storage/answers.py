"""leanon's memory of answers in SQL (`bot.ports.AnswerRepository`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, update

from bot.domain import Answer, NewAnswer, WorkspaceRef
from storage.errors import translate_errors
from storage.mapping import in_workspace, to_answer, workspace_columns
from storage.models import AnswerRow
from storage.repository import FRESH, NO_SYNC, SqlRepository, rowcount


class SqlAnswerRepository(SqlRepository):
    """`bot.ports.AnswerRepository` over SQL."""

    @translate_errors
    async def add(self, new: NewAnswer) -> Answer:
        row = AnswerRow(**workspace_columns(new.workspace), ask_id=new.ask_id,
                        question=new.question, note=new.note, note_author_id=new.note_author,
                        channel_id=new.channel_id,
                        private=new.private, link=new.link, created_at=new.created_at,
                        updated_at=new.created_at)
        self._session.add(row)
        await self._session.flush()
        return to_answer(row)

    @translate_errors
    async def for_ask(self, workspace: WorkspaceRef, ask_id: int) -> Answer | None:
        query = select(AnswerRow).where(in_workspace(AnswerRow, workspace),
                                        AnswerRow.ask_id == ask_id)
        row = await self._session.scalar(query.execution_options(**FRESH))
        return to_answer(row) if row is not None else None

    @translate_errors
    async def set_note(self, answer_id: int, note: str | None, author: str | None,
                       at: datetime) -> None:
        await self._session.execute(
            update(AnswerRow).where(AnswerRow.id == answer_id)
            .values(note=note, note_author_id=author, updated_at=at)
            .execution_options(**NO_SYNC))

    @translate_errors
    async def forget_author(self, workspace: WorkspaceRef, user_id: str,
                            kept_asks: Collection[int]) -> int:
        mine = (in_workspace(AnswerRow, workspace), AnswerRow.note_author_id == user_id)
        kept = AnswerRow.ask_id.in_(list(kept_asks))
        await self._session.execute(update(AnswerRow).where(*mine, kept)
                                    .values(note_author_id=None).execution_options(**NO_SYNC))
        cleared = await self._session.execute(
            update(AnswerRow).where(*mine).values(note=None, note_author_id=None)
            .execution_options(**NO_SYNC))
        return rowcount(cleared)

    @translate_errors
    async def export(self, workspace: WorkspaceRef) -> list[Answer]:
        query = select(AnswerRow).where(in_workspace(AnswerRow, workspace)).order_by(AnswerRow.id)
        return [to_answer(row) for row in await self._session.scalars(query)]

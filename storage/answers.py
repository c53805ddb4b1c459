"""leanon's memory of answers in SQL (`bot.ports.AnswerRepository`)."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, false, func, literal_column, or_, select, text, update

from bot.domain import (
    Answer,
    AnswerVector,
    NewAnswer,
    Suggestion,
    SuggestionMode,
    SuggestionOutcome,
    WorkspaceRef,
)
from bot.text import COMMON_WORDS
from storage.errors import translate_errors
from storage.mapping import in_workspace, to_answer, to_suggestion, workspace_columns
from storage.models import AnswerRow, SuggestionRow, WorkspaceRow
from storage.repository import FRESH, NO_SYNC, SqlRepository, rowcount

# A changed note changes what the vector was made from: it is made again.
_NO_VECTOR = {"vector": None, "vector_model": None, "vector_at": None}

# The words full-text search looks for: at most this many, of letters and digits.
_MAX_WORDS = 32
_WORD = re.compile(r"\w+")
# PostgreSQL: each answer's words as a tsvector, a column PostgreSQL keeps (migration 0016)
# with a GIN index; not in the models (storage.models.in_models). Ranking reads it, so no
# answer is parsed at search time.
ANSWER_WORDS = "answers.words"




def _words(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for found in _WORD.findall(text.casefold()):
        word = found.strip("_")
        if word and word not in COMMON_WORDS:
            seen.setdefault(word, None)
    return list(seen)[:_MAX_WORDS]


class SqlAnswerRepository(SqlRepository):
    """`bot.ports.AnswerRepository` over SQL."""

    @translate_errors
    async def add(self, new: NewAnswer) -> Answer:
        row = AnswerRow(**workspace_columns(new.workspace), ask_id=new.ask_id,
                        question=new.question, note=new.note, note_author_id=new.note_author,
                        channel_id=new.channel_id,
                        private=new.private, link=new.link, created_at=new.created_at,
                        updated_at=new.created_at, same_as_id=new.same_as)
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
            .values(note=note, note_author_id=author, updated_at=at, **_NO_VECTOR)
            .execution_options(**NO_SYNC))

    @translate_errors
    async def forget_author(self, workspace: WorkspaceRef, user_id: str,
                            kept_asks: Collection[int]) -> int:
        mine = (in_workspace(AnswerRow, workspace), AnswerRow.note_author_id == user_id)
        kept = AnswerRow.ask_id.in_(list(kept_asks))
        await self._session.execute(update(AnswerRow).where(*mine, kept)
                                    .values(note_author_id=None).execution_options(**NO_SYNC))
        cleared = await self._session.execute(
            update(AnswerRow).where(*mine).values(note=None, note_author_id=None, **_NO_VECTOR)
            .execution_options(**NO_SYNC))
        return rowcount(cleared)

    @translate_errors
    async def export(self, workspace: WorkspaceRef) -> list[Answer]:
        query = select(AnswerRow).where(in_workspace(AnswerRow, workspace)).order_by(AnswerRow.id)
        return [to_answer(row) for row in await self._session.scalars(query)]

    @translate_errors
    async def get_many(self, workspace: WorkspaceRef, ids: Sequence[int]) -> list[Answer]:
        if not ids:
            return []
        query = select(AnswerRow).where(in_workspace(AnswerRow, workspace),
                                        AnswerRow.id.in_(list(ids)))
        found = {row.id: to_answer(row)
                 for row in await self._session.scalars(query.execution_options(**FRESH))}
        return [found[i] for i in ids if i in found]

    @translate_errors
    async def needing_vectors(self, model: str, limit: int) -> list[Answer]:
        # A workspace without a settings row has the defaults: suggestions on.
        off = (select(WorkspaceRow.id)
               .where(WorkspaceRow.platform == AnswerRow.platform,
                      WorkspaceRow.workspace_id == AnswerRow.workspace_id,
                      WorkspaceRow.suggestions == SuggestionMode.OFF.value)
               .exists())
        query = (select(AnswerRow)
                 .where(or_(AnswerRow.vector_model.is_(None), AnswerRow.vector_model != model),
                        ~off)
                 .order_by(AnswerRow.id).limit(limit))
        return [to_answer(row) for row in await self._session.scalars(query)]

    @translate_errors
    async def set_vector(self, answer_id: int, model: str, vector: bytes, made_from: datetime,
                         at: datetime) -> bool:
        done = await self._session.execute(
            update(AnswerRow)
            .where(AnswerRow.id == answer_id, AnswerRow.updated_at == made_from)
            .values(vector=vector, vector_model=model, vector_at=at)
            .execution_options(**NO_SYNC))
        return rowcount(done) == 1

    @translate_errors
    async def vectors(self, workspace: WorkspaceRef, model: str,
                      after: datetime | None = None, from_id: int = 0,
                      limit: int | None = None) -> list[AnswerVector]:
        query = select(AnswerRow.id, AnswerRow.vector, AnswerRow.vector_at, AnswerRow.channel_id,
                       AnswerRow.private).where(in_workspace(AnswerRow, workspace),
                                                AnswerRow.vector_model == model)
        if after is not None:
            query = query.where(AnswerRow.vector_at > after)
        if from_id:
            query = query.where(AnswerRow.id > from_id)
        # Catching up, SQLite would rather walk the whole table in id order (every blob)
        # than sort the few rows the index finds; "+id" (SQLite's idiom) keeps the order off
        # the rowid. A whole read walks by id, a page at a time, as it should.
        catching_up = after is not None and self._dialect == "sqlite"
        by_id = literal_column("+answers.id") if catching_up else AnswerRow.id
        rows = await self._session.execute(query.order_by(by_id).limit(limit))
        return [AnswerVector(answer_id=row.id, vector=row.vector, made_at=row.vector_at,
                             channel_id=row.channel_id, private=row.private)
                for row in rows]

    @translate_errors
    async def vector_state(self, workspace: WorkspaceRef, model: str) -> tuple[int, datetime | None]:
        query = select(func.count(), func.max(AnswerRow.vector_at)).where(
            in_workspace(AnswerRow, workspace), AnswerRow.vector_model == model)
        count, newest = (await self._session.execute(query)).one()
        return int(count or 0), newest

    @translate_errors
    async def keyword_search(self, workspace: WorkspaceRef, text_: str, channel_id: str | None,
                             limit: int) -> list[int]:
        words = _words(text_)
        if not words or limit <= 0:
            return []
        seen = or_(AnswerRow.private == false(), AnswerRow.channel_id == channel_id)
        if self._dialect == "sqlite":
            # Each word quoted (a double quote doubled), so nothing in it is FTS5 syntax.
            match = " OR ".join('"' + word.replace('"', '""') + '"' for word in words)
            fts = text("SELECT rowid AS id, bm25(answers_fts) AS rank FROM answers_fts "
                       "WHERE answers_fts MATCH :match").columns(id=Integer()).subquery()
            query = (select(AnswerRow.id).join(fts, fts.c.id == AnswerRow.id)
                     .where(in_workspace(AnswerRow, workspace), seen)
                     .order_by(text("rank"), AnswerRow.id).limit(limit))
            rows = await self._session.execute(query, {"match": match})
        else:
            # websearch_to_tsquery reads "a or b" and never fails on what a member typed.
            words_of: ColumnElement[Any] = literal_column(ANSWER_WORDS)
            asked = func.websearch_to_tsquery(text("'english'::regconfig"), " or ".join(words))
            query = (select(AnswerRow.id)
                     .where(in_workspace(AnswerRow, workspace), seen, words_of.op("@@")(asked))
                     .order_by(func.ts_rank_cd(words_of, asked).desc(), AnswerRow.id)
                     .limit(limit))
            rows = await self._session.execute(query)
        return [row.id for row in rows]

    @translate_errors
    async def suggest(self, workspace: WorkspaceRef, ask_id: int,
                      matches: Sequence[tuple[int, float]], at: datetime) -> None:
        if not matches:
            return
        known = set(await self._session.scalars(
            select(SuggestionRow.answer_id).where(SuggestionRow.ask_id == ask_id)))
        for answer_id, chance in matches:
            if answer_id not in known:
                self._session.add(SuggestionRow(**workspace_columns(workspace), ask_id=ask_id,
                                                answer_id=answer_id, chance=chance, shown_at=at))
        await self._session.flush()

    @translate_errors
    async def suggestion(self, workspace: WorkspaceRef, ask_id: int,
                         answer_id: int) -> Suggestion | None:
        query = select(SuggestionRow).where(in_workspace(SuggestionRow, workspace),
                                            SuggestionRow.ask_id == ask_id,
                                            SuggestionRow.answer_id == answer_id)
        row = await self._session.scalar(query.execution_options(**FRESH))
        return to_suggestion(row) if row is not None else None

    @translate_errors
    async def decide(self, workspace: WorkspaceRef, ask_id: int, answer_id: int,
                     outcome: SuggestionOutcome, at: datetime) -> bool:
        done = await self._session.execute(
            update(SuggestionRow)
            .where(in_workspace(SuggestionRow, workspace), SuggestionRow.ask_id == ask_id,
                   SuggestionRow.answer_id == answer_id, SuggestionRow.outcome.is_(None))
            .values(outcome=outcome.value, decided_at=at).execution_options(**NO_SYNC))
        return rowcount(done) == 1

    @translate_errors
    async def shown_since(self, workspace: WorkspaceRef, since: datetime) -> list[Suggestion]:
        query = (select(SuggestionRow)
                 .where(in_workspace(SuggestionRow, workspace), SuggestionRow.shown_at >= since)
                 .order_by(SuggestionRow.shown_at, SuggestionRow.id))
        return [to_suggestion(row) for row in await self._session.scalars(query)]

"""Requests to helpers, and the help records that choose whom to ask, in SQL."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import exists, false, func, select, union_all, update

from bot.domain import HelpRecord, HelpRequest, RequestAnswer, WorkspaceRef
from storage.errors import translate_errors
from storage.mapping import in_workspace, to_request, workspace_columns
from storage.models import AskRow, HelpOfferRow, HelpRequestRow, ThanksRow
from storage.repository import NO_SYNC, SqlRepository, rowcount


class SqlHelpRequestRepository(SqlRepository):
    """`bot.ports.HelpRequestRepository` over SQL."""

    @translate_errors
    async def add(self, workspace: WorkspaceRef, requests: Sequence[HelpRequest]) -> None:
        if not requests:
            return
        statement = self._insert(HelpRequestRow).values([
            {**workspace_columns(workspace), "ask_id": r.ask_id, "helper_id": r.helper_id,
             "requested_at": r.requested_at, "local_date": r.local_date,
             "answer": r.answer.value if r.answer else None, "answered_at": r.answered_at}
            for r in requests
        ]).on_conflict_do_nothing(index_elements=["ask_id", "helper_id"])
        await self._session.execute(statement)

    @translate_errors
    async def since(self, workspace: WorkspaceRef, since: datetime) -> list[HelpRequest]:
        query = (select(HelpRequestRow)
                 .where(in_workspace(HelpRequestRow, workspace), HelpRequestRow.requested_at >= since)
                 .order_by(HelpRequestRow.requested_at, HelpRequestRow.id))
        return [to_request(row) for row in (await self._session.scalars(query)).all()]

    @translate_errors
    async def answer(self, workspace: WorkspaceRef, ask_id: int, helper_id: str,
                     answer: RequestAnswer, at: datetime) -> bool:
        theirs = (in_workspace(HelpRequestRow, workspace), HelpRequestRow.ask_id == ask_id,
                  HelpRequestRow.helper_id == helper_id)
        statement = (
            update(HelpRequestRow)
            .where(*theirs, HelpRequestRow.answer.is_(None))
            .values(answer=answer.value, answered_at=at)
            .execution_options(**NO_SYNC)
        )
        if rowcount(await self._session.execute(statement)):
            return True
        return await self._session.scalar(select(exists().where(*theirs))) or False

    @translate_errors
    async def answered(self, workspace: WorkspaceRef, channel_id: str, since: datetime,
                       until: datetime) -> list[str]:
        query = (
            select(HelpRequestRow.helper_id).distinct()
            .join(AskRow, AskRow.id == HelpRequestRow.ask_id)
            .where(in_workspace(HelpRequestRow, workspace), AskRow.channel_id == channel_id,
                   HelpRequestRow.answer == RequestAnswer.OFFERED.value,
                   HelpRequestRow.answered_at >= since, HelpRequestRow.answered_at < until)
            .order_by(HelpRequestRow.helper_id)
        )
        return list((await self._session.scalars(query)).all())

    @translate_errors
    async def records(self, workspace: WorkspaceRef, ask_ids: Collection[int],
                      user_ids: Collection[str]) -> dict[str, HelpRecord]:
        if not user_ids:
            return {}
        members = list(user_ids)
        helped = union_all(
            select(HelpOfferRow.helper_id.label("member"), HelpOfferRow.ask_id.label("ask_id"),
                   HelpOfferRow.created_at.label("at"))
            .join(AskRow, AskRow.id == HelpOfferRow.ask_id)
            .where(in_workspace(AskRow, workspace), HelpOfferRow.helper_id.in_(members)),
            select(ThanksRow.receiver_id, ThanksRow.ask_id, ThanksRow.created_at)
            .where(in_workspace(ThanksRow, workspace), ThanksRow.receiver_id.in_(members),
                   ThanksRow.retracted_at.is_(None)),
        ).subquery()
        about = helped.c.ask_id.in_(list(ask_ids)) if ask_ids else false()
        similar = func.count(func.distinct(helped.c.ask_id)).filter(about)
        query = select(helped.c.member, similar, func.max(helped.c.at)).group_by(helped.c.member)
        rows = (await self._session.execute(query)).all()
        return {member: HelpRecord(int(count or 0), last) for member, count, last in rows}

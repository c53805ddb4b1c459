"""The insights page in SQL: its sign-in links and sessions, and what it counts."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import case, delete, func, select, update

from bot.domain import AskFacts, AskStatus, OfferFacts, Signed, WorkspaceRef
from storage.errors import translate_errors
from storage.mapping import in_workspace, workspace_columns, workspace_of
from storage.models import AskRow, HelpOfferRow, InsightLinkRow, InsightSessionRow, ThanksRow
from storage.repository import NO_SYNC, SqlRepository, rowcount


def _signed(row: InsightLinkRow | InsightSessionRow) -> Signed:
    return Signed(workspace_of(row), row.admin_id, row.expires_at)


class _Facts(SqlRepository):
    """The insights page's reads: what happened in a window, for a whole workspace."""

    @translate_errors
    async def asks_opened(self, workspace: WorkspaceRef, since: datetime,
                          until: datetime) -> list[AskFacts]:
        opened = (in_workspace(AskRow, workspace), AskRow.created_at >= since,
                  AskRow.created_at < until)
        # The first offers of the window's asks, grouped from the asks' side: the window's
        # asks by the (workspace, created_at) index, each one's offers by (ask_id, created_at).
        firsts = (
            select(HelpOfferRow.ask_id, func.min(HelpOfferRow.created_at))
            .join(AskRow, AskRow.id == HelpOfferRow.ask_id)
            .where(*opened, HelpOfferRow.created_at < until)
            .group_by(HelpOfferRow.ask_id)
        )
        first = {ask_id: at for ask_id, at in (await self._session.execute(firsts)).all()}
        asker = case((AskRow.anonymous, None), else_=AskRow.asker_id)
        query = (
            select(AskRow.id, AskRow.channel_id, asker, AskRow.created_at, AskRow.status,
                   AskRow.ladder_step, AskRow.asked_helpers)
            .where(*opened)
            .order_by(AskRow.created_at, AskRow.id)
        )
        return [AskFacts(row[0], row[1], row[2], row[3], first.get(row[0]), AskStatus(row[4]),
                         row[5], row[6])
                for row in (await self._session.execute(query)).all()]

    @translate_errors
    async def asks_resolved(self, workspace: WorkspaceRef, since: datetime,
                            until: datetime) -> list[tuple[str, datetime]]:
        query = select(AskRow.channel_id, AskRow.closed_at).where(
            in_workspace(AskRow, workspace), AskRow.status == AskStatus.RESOLVED.value,
            AskRow.closed_at >= since, AskRow.closed_at < until)
        return [(channel, closed) for channel, closed in (await self._session.execute(query)).all()
                if closed is not None]

    @translate_errors
    async def first_asks(self, workspace: WorkspaceRef,
                         asker_ids: Collection[str]) -> dict[str, datetime]:
        found: dict[str, datetime] = {}
        ids = list(asker_ids)
        for start in range(0, len(ids), 500):  # bounded IN lists
            query = (select(AskRow.asker_id, func.min(AskRow.created_at))
                     .where(in_workspace(AskRow, workspace),
                            AskRow.asker_id.in_(ids[start:start + 500]))
                     .group_by(AskRow.asker_id))
            found.update({asker: first for asker, first in
                          (await self._session.execute(query)).all() if asker is not None})
        return found

    @translate_errors
    async def offers(self, workspace: WorkspaceRef, since: datetime,
                     until: datetime) -> list[OfferFacts]:
        query = (
            select(AskRow.channel_id, HelpOfferRow.helper_id, HelpOfferRow.created_at)
            .join(AskRow, AskRow.id == HelpOfferRow.ask_id)
            .where(in_workspace(AskRow, workspace), AskRow.created_at >= since,
                   AskRow.created_at < until, HelpOfferRow.created_at < until)
        )
        return [OfferFacts(*row) for row in (await self._session.execute(query)).all()]

    @translate_errors
    async def thanks_by_channel(self, workspace: WorkspaceRef, since: datetime,
                                until: datetime) -> dict[str | None, int]:
        query = (
            select(ThanksRow.message_channel_id, func.count())
            .where(in_workspace(ThanksRow, workspace), ThanksRow.created_at >= since,
                   ThanksRow.created_at < until, ThanksRow.retracted_at.is_(None))
            .group_by(ThanksRow.message_channel_id)
        )
        return {channel: int(count) for channel, count in (await self._session.execute(query)).all()}


class SqlInsightRepository(_Facts):
    """`bot.ports.InsightRepository` over SQL."""

    @translate_errors
    async def add_link(self, token_hash: str, signed: Signed, at: datetime) -> None:
        self._session.add(InsightLinkRow(**workspace_columns(signed.workspace), token_hash=token_hash,
                                         admin_id=signed.admin_id, created_at=at,
                                         expires_at=signed.expires_at))
        await self._session.flush()

    @translate_errors
    async def use_link(self, token_hash: str, at: datetime) -> Signed | None:
        statement = (
            update(InsightLinkRow)
            .where(InsightLinkRow.token_hash == token_hash, InsightLinkRow.used_at.is_(None),
                   InsightLinkRow.expires_at > at)
            .values(used_at=at)
            .returning(InsightLinkRow)
            .execution_options(**NO_SYNC)
        )
        row = (await self._session.execute(statement)).scalar_one_or_none()
        return _signed(row) if row is not None else None

    @translate_errors
    async def add_session(self, token_hash: str, signed: Signed, at: datetime) -> None:
        self._session.add(InsightSessionRow(**workspace_columns(signed.workspace),
                                            token_hash=token_hash, admin_id=signed.admin_id,
                                            created_at=at, expires_at=signed.expires_at))
        await self._session.flush()

    @translate_errors
    async def session(self, token_hash: str, at: datetime) -> Signed | None:
        row = await self._session.scalar(
            select(InsightSessionRow).where(InsightSessionRow.token_hash == token_hash,
                                            InsightSessionRow.ended_at.is_(None),
                                            InsightSessionRow.expires_at > at))
        return _signed(row) if row is not None else None

    @translate_errors
    async def end_session(self, token_hash: str, at: datetime) -> bool:
        statement = (
            update(InsightSessionRow)
            .where(InsightSessionRow.token_hash == token_hash, InsightSessionRow.ended_at.is_(None))
            .values(ended_at=at)
            .execution_options(**NO_SYNC)
        )
        return rowcount(await self._session.execute(statement)) > 0

    @translate_errors
    async def prune(self, before: datetime) -> int:
        gone = 0
        for row in (InsightLinkRow, InsightSessionRow):
            statement = delete(row).where(row.expires_at < before).execution_options(**NO_SYNC)
            gone += rowcount(await self._session.execute(statement))
        return gone

"""Members' numbers and the leaderboard in SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, ScalarSelect, func, select

from bot.domain import AskStatus, LeaderboardEntry, MemberStats, WorkspaceRef
from storage.errors import translate_errors
from storage.mapping import in_workspace
from storage.models import AskRow, HelpOfferRow, ThanksRow
from storage.repository import SqlRepository


def _count(model: type[AskRow] | type[ThanksRow], *where: ColumnElement[bool]) -> ScalarSelect[int]:
    return select(func.count(model.id)).where(*where).scalar_subquery()


class SqlStatsRepository(SqlRepository):
    """`bot.ports.StatsRepository` over SQL."""

    @translate_errors
    async def member_stats(self, workspace: WorkspaceRef, user_id: str, week_start: datetime) -> MemberStats:
        """One member's numbers; active thanks only, `week_start` bounds the weekly count."""
        asks = in_workspace(AskRow, workspace)
        thanks = (in_workspace(ThanksRow, workspace), ThanksRow.retracted_at.is_(None))
        received = (*thanks, ThanksRow.receiver_id == user_id)
        offers = (
            select(func.count(HelpOfferRow.id))
            .join(AskRow, HelpOfferRow.ask_id == AskRow.id)
            .where(asks, HelpOfferRow.helper_id == user_id)
            .scalar_subquery()
        )
        query = select(
            _count(AskRow, asks, AskRow.asker_id == user_id),
            _count(AskRow, asks, AskRow.asker_id == user_id, AskRow.status == AskStatus.RESOLVED.value),
            offers,
            _count(ThanksRow, *received),
            _count(ThanksRow, *thanks, ThanksRow.giver_id == user_id),
            _count(ThanksRow, *received, ThanksRow.created_at >= week_start),
        )
        row = (await self._session.execute(query)).one()
        return MemberStats(
            asks_opened=row[0],
            asks_resolved=row[1],
            help_offers=row[2],
            thanks_received=row[3],
            thanks_given=row[4],
            thanks_received_week=row[5],
        )

    @translate_errors
    async def leaderboard(
        self, workspace: WorkspaceRef, since: datetime, exclude: set[str], limit: int = 10
    ) -> list[LeaderboardEntry]:
        """Members by active thanks received since `since`, most first, ties by user id."""
        received = func.count(ThanksRow.id).label("received")
        query = (
            select(ThanksRow.receiver_id, received)
            .where(
                in_workspace(ThanksRow, workspace),
                ThanksRow.retracted_at.is_(None),
                ThanksRow.created_at >= since,
                ThanksRow.receiver_id.not_in(sorted(exclude)),
            )
            .group_by(ThanksRow.receiver_id)
            .order_by(received.desc(), ThanksRow.receiver_id)
            .limit(limit)
        )
        rows = await self._session.execute(query)
        return [LeaderboardEntry(user_id, count) for user_id, count in rows]

"""Members' numbers, the leaderboard and a channel's weekly numbers in SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    func,
    lateral,
    select,
    true,
    union,
)
from sqlalchemy.orm import aliased

from bot.domain import (
    AskStatus,
    LeaderboardEntry,
    MemberStats,
    WeeklyNumbers,
    WorkspaceRef,
    median_span,
)
from storage.errors import translate_errors
from storage.mapping import in_workspace
from storage.models import AskRow, HelpOfferRow, ThanksRow
from storage.repository import SqlRepository


def _count(model: type[AskRow] | type[ThanksRow], *where: ColumnElement[bool]) -> ScalarSelect[int]:
    """COUNT(*), not of a column: a covering index then answers without reading the table."""
    return select(func.count()).select_from(model).where(*where).scalar_subquery()


class SqlStatsRepository(SqlRepository):
    """`bot.ports.StatsRepository` over SQL."""

    @translate_errors
    async def member_stats(self, workspace: WorkspaceRef, user_id: str, week_ago: datetime) -> MemberStats:
        """One member's numbers; active thanks only, `week_ago` bounds the weekly count."""
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
            _count(ThanksRow, *received, ThanksRow.created_at >= week_ago),
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

    @translate_errors
    async def channel_week(
        self, workspace: WorkspaceRef, channel_id: str, since: datetime, until: datetime
    ) -> WeeklyNumbers:
        """The channel's numbers for [since, until), counting only what happened in it.

        - asks opened: created in the window in the channel;
        - asks resolved: resolved in the window (`closed_at`), whenever they were opened;
        - median first offer: over the asks opened in the window whose first offer came
          before `until`, from the ask's creation to that offer (None when there is none);
        - thanks given: active thanks given in the window in the channel;
        - helpers: distinct members who offered help in the window on the channel's asks
          or received an active thanks in the window in the channel;
        - first-time askers: members whose first ask in the workspace was opened in the
          window in this channel (ties broken by ask id; forgotten askers do not count).

        Two statements; every table access in them searches an index narrowed to the
        channel, an ask or an asker (tests/storage/test_storage_query_plans.py).
        """
        in_channel = (in_workspace(AskRow, workspace), AskRow.channel_id == channel_id)
        opened = (*in_channel, AskRow.created_at >= since, AskRow.created_at < until)
        first_offer = (
            select(func.min(HelpOfferRow.created_at))
            .where(HelpOfferRow.ask_id == AskRow.id, HelpOfferRow.created_at < until)
            .scalar_subquery()
        )
        asks = (await self._session.execute(select(AskRow.created_at, first_offer).where(*opened))).all()
        delays = [offered - created for created, offered in asks if offered is not None]

        thanks = (
            in_workspace(ThanksRow, workspace),
            ThanksRow.message_channel_id == channel_id,
            ThanksRow.retracted_at.is_(None),
            ThanksRow.created_at >= since,
            ThanksRow.created_at < until,
        )
        resolved = _count(
            AskRow,
            *in_channel,
            AskRow.status == AskStatus.RESOLVED.value,
            AskRow.closed_at >= since,
            AskRow.closed_at < until,
        )
        helpers = union(
            self._helpers_offered(in_channel, since, until),
            select(ThanksRow.receiver_id).where(*thanks),
        ).subquery()
        # The asker's first ask in the workspace, one index probe per ask of the window
        # (a correlated LIMIT 1 stays a per-row lookup; an anti-join may read the workspace).
        mine = aliased(AskRow)
        first_ask = (
            select(mine.id)
            .where(in_workspace(mine, workspace), mine.asker_id == AskRow.asker_id)
            .order_by(mine.created_at, mine.id)
            .limit(1)
            .scalar_subquery()
        )
        first_timers = (
            select(func.count(AskRow.asker_id.distinct()))
            .where(*opened, AskRow.asker_id.is_not(None), AskRow.id == first_ask)
            .scalar_subquery()
        )
        query = select(
            resolved,
            _count(ThanksRow, *thanks),
            select(func.count()).select_from(helpers).scalar_subquery(),
            first_timers,
        )
        row = (await self._session.execute(query)).one()
        return WeeklyNumbers(
            asks_opened=len(asks),
            asks_resolved=row[0],
            median_first_offer=median_span(delays),
            thanks_given=row[1],
            helpers=row[2],
            first_time_askers=row[3],
        )

    @translate_errors
    async def thanked(
        self, workspace: WorkspaceRef, channel_id: str, since: datetime, until: datetime
    ) -> list[str]:
        """Distinct receivers of active thanks in the channel in the window, first thanked first
        (ties by user id). Read from the covering index `ix_thanks_channel_window` alone."""
        first_thanked = func.min(ThanksRow.created_at)
        query = (
            select(ThanksRow.receiver_id)
            .where(
                in_workspace(ThanksRow, workspace),
                ThanksRow.message_channel_id == channel_id,
                ThanksRow.retracted_at.is_(None),
                ThanksRow.created_at >= since,
                ThanksRow.created_at < until,
            )
            .group_by(ThanksRow.receiver_id)
            .order_by(first_thanked, ThanksRow.receiver_id)
        )
        return list((await self._session.scalars(query)).all())

    def _helpers_offered(
        self, in_channel: tuple[ColumnElement[bool], ...], since: datetime, until: datetime
    ) -> Select[str]:
        """Who offered help in [since, until) on the channel's asks, found from those asks:
        one probe of `ix_help_offers_ask_window` per ask of the channel.

        SQLite's planner does so by itself. PostgreSQL's would rather hash every offer of
        the window, in every workspace, so the offers are a LATERAL subquery there, and
        `OFFSET 0` keeps it from being flattened back into that join.
        """
        in_window = (HelpOfferRow.created_at >= since, HelpOfferRow.created_at < until)
        if self._dialect != "postgresql":
            return (
                select(HelpOfferRow.helper_id)
                .join(AskRow, HelpOfferRow.ask_id == AskRow.id)
                .where(*in_channel, *in_window)
            )
        offers = lateral(
            select(HelpOfferRow.helper_id).where(HelpOfferRow.ask_id == AskRow.id, *in_window).offset(0)
        )
        return select(offers.c.helper_id).select_from(AskRow).join(offers, true()).where(*in_channel)

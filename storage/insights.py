"""The insights page in SQL: its sign-in links and sessions, and what it counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    delete,
    func,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from bot.domain import (
    WEEK,
    AskStatus,
    AskTally,
    InsightTallies,
    InsightWindow,
    LadderStep,
    Signed,
    SuggestionOutcome,
    WorkspaceRef,
)
from storage.errors import translate_errors
from storage.mapping import in_workspace, workspace_columns, workspace_of
from storage.models import (
    AnswerRow,
    AskRow,
    HelpOfferRow,
    InsightLinkRow,
    InsightSessionRow,
    SuggestionRow,
    ThanksRow,
)
from storage.repository import NO_SYNC, SqlRepository, rowcount

Rows = Select[*tuple[Any, ...]]


def _signed(row: InsightLinkRow | InsightSessionRow) -> Signed:
    return Signed(workspace_of(row), row.admin_id, row.expires_at)


class seconds_between(FunctionElement[float]):
    """`later - earlier` in seconds, to the millisecond, in each database's own words."""

    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _sqlite_seconds(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"round((julianday({later}) - julianday({earlier})) * 86400.0, 3)"


@compiles(seconds_between, "postgresql")
def _postgres_seconds(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(round(extract(epoch FROM ({later}) - ({earlier})), 3) AS double precision)"


def _week(column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
          window: InsightWindow) -> ColumnElement[int]:
    """The window's week of `column` (for rows inside the window), by comparisons only, so
    that a boundary falls exactly where `InsightWindow.week_of` puts it: a binary search of
    the weeks' starts, a few comparisons a row even for a year."""
    starts = window.starts

    def within(low: int, high: int) -> ColumnElement[int]:
        if high - low == 1:
            return literal(low)
        middle = (low + high) // 2
        return case((column < starts[middle], within(low, middle)), else_=within(middle, high))

    return within(0, len(starts))


def _flag(flag: ColumnElement[bool], value: int) -> ColumnElement[int]:
    return case((flag, value), else_=0)


class _Opened:
    """The tallies of the window's asks, counted from one row per ask and offer (a plain
    loop: a large workspace has tens of thousands of them). Each ask's flags are counted as
    one small number per (week, channel) and spread into the tallies at the end."""

    def __init__(self, rows: Iterable[Any], late_after: float) -> None:
        kinds: dict[tuple[int, str, int], int] = {}
        waits: defaultdict[tuple[int, str], list[float]] = defaultdict(list)
        offers: dict[tuple[int, str, str], int] = {}
        askers: set[tuple[int, str, str]] = set()
        ask_of: dict[str, int] = {}  # one ask of each named asker
        seen: set[int] = set()
        # Bound once: this loop runs for every ask and offer of the window.
        count_kind, count_offer, see, add_asker = kinds.get, offers.get, seen.add, askers.add
        for ask_id, week, channel, named, wait, flags, helper in rows:
            if helper is not None:
                key = (week, channel, helper)
                offers[key] = count_offer(key, 0) + 1
            if ask_id in seen:  # one row per offer: the ask's other offers
                continue
            see(ask_id)
            if wait is not None:
                waits[(week, channel)].append(wait)
                flags |= _OFFERED | (_LATE if flags & _JUDGED and wait > late_after else 0)
            elif flags & _JUDGED:
                flags |= _LATE
            kind = (week, channel, flags)
            kinds[kind] = count_kind(kind, 0) + 1
            if named is not None:
                add_asker((week, channel, named))
                if named not in ask_of:
                    ask_of[named] = ask_id
        self.waits: dict[tuple[int, str], list[float]] = dict(waits)
        self.offers = offers
        self.askers = askers
        self.ask_of = ask_of
        self.counts: dict[tuple[int, str], list[int]] = {}
        for (week, channel, flags), n in kinds.items():
            tally = self.counts.setdefault((week, channel), [0] * 6)
            tally[0] += n
            for position, flag in enumerate((_JUDGED, _LATE, _REQUESTED), start=1):
                tally[position] += n if flags & flag else 0
            tally[4] += n if flags & _REQUESTED and flags & _OFFERED else 0
            tally[5] += n if flags & _ESCALATED else 0

    def tallies(self) -> list[AskTally]:
        return [AskTally(week, channel, *counts) for (week, channel), counts in self.counts.items()]


# An ask's flags, as `_Facts._opened` reads them (the first three) and `_Opened` adds them.
_JUDGED, _REQUESTED, _ESCALATED, _OFFERED, _LATE = 1, 2, 4, 8, 16


class _Facts(SqlRepository):
    """The insights page's reads: what happened in a window, for a large workspace too (12
    weeks may hold 23,000 asks and 230,000 thanks): counted in the database where a count
    will do, and otherwise read once as plain numbers and ids (no dates to parse, no ORM
    objects)."""

    @translate_errors
    async def tallies(self, workspace: WorkspaceRef, window: InsightWindow) -> InsightTallies:
        since, until = window.since, window.until
        suggested = (in_workspace(SuggestionRow, workspace), SuggestionRow.shown_at >= since,
                     SuggestionRow.shown_at < until)
        opened = await self._opened(workspace, window)
        return InsightTallies(
            asks=opened.tallies(),
            resolved=await self._resolved(workspace, window),
            thanks=await self._thanks(workspace, window),
            first_offer_seconds=opened.waits,
            offers=opened.offers,
            askers=opened.askers,
            first_asked=await self._first_asked(workspace, window, opened.ask_of),
            from_memory=await self._counts(
                select(_week(SuggestionRow.decided_at, window), AskRow.channel_id)
                .join(AskRow, AskRow.id == SuggestionRow.ask_id)
                .where(*suggested, SuggestionRow.outcome == SuggestionOutcome.SOLVED.value,
                       SuggestionRow.decided_at >= since, SuggestionRow.decided_at < until)),
            unnoted_suggestions=await self._counts(
                select(SuggestionRow.answer_id, AskRow.channel_id)
                .join(AskRow, AskRow.id == SuggestionRow.ask_id)
                .join(AnswerRow, AnswerRow.id == SuggestionRow.answer_id)
                .where(*suggested, or_(AnswerRow.note.is_(None), AnswerRow.note == ""))),
        )

    async def _opened(self, workspace: WorkspaceRef, window: InsightWindow) -> _Opened:
        """The window's asks, each with its offers, in one pass of the covering window index
        (and the offers' ask index): numbers and ids only, no dates to parse, counted here.
        A grouped query per tally would read the same rows once for each."""
        until = window.until
        offered = and_(AskRow.first_offer_at.is_not(None), AskRow.first_offer_at < until)
        wait = seconds_between(AskRow.first_offer_at, AskRow.created_at)
        judged = AskRow.created_at <= until - window.late_after
        requested = and_(AskRow.ladder_step >= int(LadderStep.REQUEST), AskRow.asked_helpers > 0)
        flags = (_flag(judged, _JUDGED) + _flag(requested, _REQUESTED)
                 + _flag(AskRow.ladder_step >= int(LadderStep.ESCALATION), _ESCALATED))
        query = (
            select(AskRow.id, _week(AskRow.created_at, window), AskRow.channel_id,
                   case((~AskRow.anonymous, AskRow.asker_id)), case((offered, wait)), flags,
                   HelpOfferRow.helper_id)
            .outerjoin(HelpOfferRow, and_(HelpOfferRow.ask_id == AskRow.id,
                                          HelpOfferRow.created_at < until))
            .where(in_workspace(AskRow, workspace), AskRow.created_at >= window.since,
                   AskRow.created_at < until)
        )
        return _Opened(await self._rows(query), window.late_after.total_seconds())

    async def _first_asked(self, workspace: WorkspaceRef, window: InsightWindow,
                           ask_of: dict[str, int]) -> dict[str, datetime]:
        """When each of the window's named askers first asked in the workspace, for those
        whose first ask is in the window: one ask of each (`ask_of`) found by its key, its
        asker's first ask by the (workspace, asker, created_at) index, a seek each."""
        earlier = aliased(AskRow)
        first = (select(func.min(earlier.created_at))
                 .where(in_workspace(earlier, workspace), earlier.asker_id == AskRow.asker_id)
                 .scalar_subquery())
        found: dict[str, datetime] = {}
        ids = sorted(ask_of.values())
        for start in range(0, len(ids), 500):  # bounded IN lists
            query = select(AskRow.asker_id, first).where(AskRow.id.in_(ids[start:start + 500]))
            found.update({asker: at for asker, at in await self._rows(query)
                          if asker is not None and at is not None
                          and window.since <= at < window.until})
        return found

    async def _thanks(self, workspace: WorkspaceRef,
                      window: InsightWindow) -> dict[tuple[int, str | None], int]:
        """Each channel's thanks week by week (ten times as many rows as asks), in the
        covering (workspace, channel, created_at) index; a thanks given with no channel
        counts under None."""
        return await self._channel_weeks(
            ThanksRow, ThanksRow.message_channel_id, ThanksRow.created_at, workspace, window,
            lambda row: (row.retracted_at.is_(None),), with_none=True)

    async def _resolved(self, workspace: WorkspaceRef,
                        window: InsightWindow) -> dict[tuple[int, str], int]:
        """Each channel's asks resolved, week by week, in the (workspace, channel, status,
        closed_at) index (an ask always has a channel)."""
        counts = await self._channel_weeks(
            AskRow, AskRow.channel_id, AskRow.closed_at, workspace, window,
            lambda row: (row.status == AskStatus.RESOLVED.value,), with_none=False)
        return cast(dict[tuple[int, str], int], counts)  # with_none=False: no None channel

    async def _channel_weeks(
        self, table: type[AskRow] | type[ThanksRow],
        channel: InstrumentedAttribute[str] | InstrumentedAttribute[str | None],
        at: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
        workspace: WorkspaceRef, window: InsightWindow,
        counted: Callable[[Any], tuple[ColumnElement[bool], ...]], with_none: bool,
    ) -> dict[tuple[int, str | None], int]:
        """How many of `table`'s rows of the workspace that are `counted` fall in each week
        of the window, by channel: each (channel, week) a range of an index that begins
        (workspace, channel, …, at), which is counted faster than rows are grouped. The
        workspace's channels are found by a seek each in the same index (a loose index
        scan), not by reading its rows; `with_none`: rows with no channel too."""
        def week_counts(channel_id: ColumnElement[str | None] | None) -> list[ColumnElement[int]]:
            row = aliased(table)
            column = getattr(row, channel.key)
            in_channel = column.is_(None) if channel_id is None else column == channel_id
            when = getattr(row, at.key)
            return [select(func.count())
                    .where(in_workspace(row, workspace), in_channel, *counted(row),
                           when >= start, when < start + WEEK)
                    .scalar_subquery() for start in window.starts]

        first = (select(func.min(channel).label("id")).where(in_workspace(table, workspace))
                 .cte("channels", recursive=True))
        following = aliased(table)
        following_channel = getattr(following, channel.key)
        channels = first.union_all(
            select(select(func.min(following_channel))
                   .where(in_workspace(following, workspace), following_channel > first.c.id)
                   .scalar_subquery())
            .where(first.c.id.is_not(None)))
        rows = await self._rows(select(channels.c.id, *week_counts(channels.c.id))
                                .where(channels.c.id.is_not(None)))
        if with_none:
            rows += await self._rows(select(null(), *week_counts(None)))
        return {(week, channel_id): int(n) for channel_id, *counts in rows
                for week, n in enumerate(counts) if n}

    async def _rows(self, query: Rows) -> list[Any]:
        """The rows, read as plain tuples (SQLAlchemy Core: no ORM loading per row)."""
        connection = await self._session.connection()
        return list((await connection.execute(query)).all())

    async def _counts(self, query: Rows) -> dict[Any, int]:
        """How many rows `query` gives for each of its distinct rows."""
        rows = query.subquery()
        grouped = select(*rows.c, func.count()).group_by(*rows.c)
        return {tuple(row[:-1]): int(row[-1]) for row in await self._rows(grouped)}


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

"""Weekly post schedules in SQL."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import select, update

from bot.domain import Schedule, WorkspaceRef
from storage.errors import translate_errors
from storage.mapping import in_workspace, joined_names, to_schedule, workspace_columns
from storage.models import ScheduleRow
from storage.repository import FRESH, NO_SYNC, SqlRepository

_CHANNEL = ["platform", "workspace_id", "channel_id"]


class SqlScheduleRepository(SqlRepository):
    """`bot.ports.ScheduleRepository` over SQL."""

    @translate_errors
    async def get(self, workspace: WorkspaceRef, channel_id: str) -> Schedule | None:
        query = select(ScheduleRow).where(
            in_workspace(ScheduleRow, workspace), ScheduleRow.channel_id == channel_id
        )
        row = await self._session.scalar(query.execution_options(**FRESH))
        return to_schedule(row) if row is not None else None

    @translate_errors
    async def by_id(self, schedule_id: int) -> Schedule | None:
        query = select(ScheduleRow).where(ScheduleRow.id == schedule_id)
        row = await self._session.scalar(query.execution_options(**FRESH))
        return to_schedule(row) if row is not None else None

    @translate_errors
    async def upsert(
        self,
        workspace: WorkspaceRef,
        channel_id: str,
        weekday: int,
        at: time,
        timezone: str,
        paused: bool,
        now: datetime,
    ) -> Schedule:
        """Create or change the channel's schedule; resets failures.

        A changed schedule keeps its rotation (`themes_used`, `posts_sent`); `updated_at`
        becomes `now`. One statement (INSERT … ON CONFLICT DO UPDATE), so two admins
        setting the same channel at once make one schedule, the last write winning.
        """
        if not 0 <= weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {weekday}")
        if at.tzinfo is not None:
            raise ValueError("a schedule's time is a local wall-clock time; pass a naive time")
        changed: dict[str, Any] = {
            "weekday": weekday,
            "at_time": at,
            "timezone": timezone,
            "paused": paused,
            "updated_at": now,
            "failures": 0,
        }
        statement = (
            self._insert(ScheduleRow)
            .values(
                **workspace_columns(workspace), channel_id=channel_id, **changed, themes_used="", posts_sent=0
            )
            .on_conflict_do_update(index_elements=_CHANNEL, set_=changed)
            .returning(ScheduleRow)
        )
        row = (await self._session.scalars(statement.execution_options(**FRESH))).one()
        return to_schedule(row)

    @translate_errors
    async def set_paused(self, schedule_id: int, paused: bool, now: datetime) -> None:
        """Pause or resume; `updated_at` becomes `now`, so resuming never posts a missed week."""
        await self._update(schedule_id, paused=paused, updated_at=now)

    @translate_errors
    async def active(self) -> list[Schedule]:
        """Every schedule that is not paused, in every workspace, oldest first."""
        query = select(ScheduleRow).where(ScheduleRow.paused.is_(False)).order_by(ScheduleRow.id)
        rows = await self._session.scalars(query.execution_options(**FRESH))
        return [to_schedule(row) for row in rows]

    @translate_errors
    async def record_rotation(self, schedule_id: int, themes_used: tuple[str, ...], posts_sent: int) -> None:
        await self._update(schedule_id, themes_used=joined_names(themes_used, "theme"), posts_sent=posts_sent)

    @translate_errors
    async def record_failure(self, schedule_id: int) -> int:
        """Count one more failed post in a row; the new count (0 when there is no such schedule).

        An atomic increment in the database: two workers failing at once count two.
        """
        statement = (
            update(ScheduleRow)
            .where(ScheduleRow.id == schedule_id)
            .values(failures=ScheduleRow.failures + 1)
            .returning(ScheduleRow.failures)
            .execution_options(**NO_SYNC)
        )
        failures = (await self._session.execute(statement)).scalar_one_or_none()
        return failures if failures is not None else 0

    @translate_errors
    async def reset_failures(self, schedule_id: int) -> None:
        await self._update(schedule_id, failures=0)

    async def _update(self, schedule_id: int, **values: Any) -> None:
        statement = update(ScheduleRow).where(ScheduleRow.id == schedule_id).values(**values)
        await self._session.execute(statement.execution_options(**NO_SYNC))

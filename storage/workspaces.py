"""Workspace settings and members in SQL."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Helper, Settings, WorkspaceRef
from bot.hours import WorkingHours
from storage.errors import translate_errors
from storage.mapping import (
    in_bound_workspace,
    in_workspace,
    settings_columns,
    to_settings,
    workspace_columns,
)
from storage.models import HelperRow, HelpRequestRow, MemberRow, WorkspaceRow
from storage.recent import Recent
from storage.repository import FRESH, NO_SYNC, SqlRepository

# Built once: read for every batch of reactions, the statement's construction and cache
# key cost more than running it.
# As the table's row, not an ORM object.
_SETTINGS = select(*WorkspaceRow.__table__.c).where(in_bound_workspace(WorkspaceRow))


class SqlWorkspaceRepository(SqlRepository):
    """`bot.ports.WorkspaceRepository` over SQL."""

    def __init__(self, session: AsyncSession, dialect: str, recent: Recent) -> None:
        super().__init__(session, dialect)
        self._recent = recent
        self._saved: set[WorkspaceRef] = set()

    @translate_errors
    async def settings(self, workspace: WorkspaceRef) -> Settings:
        """The workspace's settings (defaults when it has none stored)."""
        row = (await self._session.execute(_SETTINGS, workspace_columns(workspace))).first()
        return to_settings(row) if row is not None else Settings()

    async def recent_settings(self, workspace: WorkspaceRef) -> Settings:
        """`settings`, as this process read them a moment ago (`storage.recent`)."""
        kept = self._recent.settings(workspace)
        if kept is not None:
            return kept
        started = self._recent.start()
        settings = await self.settings(workspace)
        if workspace not in self._saved:  # this transaction's own change is not kept
            self._recent.read_settings(workspace, settings, started)
        return settings

    def saved(self) -> None:
        """Called as the unit of work commits: the saved settings are read anew."""
        for workspace in self._saved:
            self._recent.forget_settings(workspace)

    @translate_errors
    async def save_settings(self, workspace: WorkspaceRef, settings: Settings) -> None:
        """Store `settings` as the workspace's, replacing any stored before."""
        self._saved.add(workspace)
        self._recent.forget_settings(workspace)
        columns = settings_columns(settings)
        statement = (
            self._insert(WorkspaceRow)
            .values(**workspace_columns(workspace), **columns)
            .on_conflict_do_update(index_elements=["platform", "workspace_id"], set_=columns)
        )
        await self._session.execute(statement)


class SqlMemberRepository(SqlRepository):
    """`bot.ports.MemberRepository` over SQL."""

    @translate_errors
    async def opted_out(self, workspace: WorkspaceRef) -> set[str]:
        """Members who asked not to be named in posts and leaderboards."""
        query = select(MemberRow.user_id).where(in_workspace(MemberRow, workspace), MemberRow.opted_out)
        return set((await self._session.scalars(query)).all())

    @translate_errors
    async def set_opted_out(self, workspace: WorkspaceRef, user_id: str, opted_out: bool) -> None:
        statement = (
            self._insert(MemberRow)
            .values(**workspace_columns(workspace), user_id=user_id, opted_out=opted_out)
            .on_conflict_do_update(
                index_elements=["platform", "workspace_id", "user_id"],
                set_={"opted_out": opted_out},
            )
        )
        await self._session.execute(statement)

    @translate_errors
    async def forget(self, workspace: WorkspaceRef, user_id: str) -> None:
        """Delete what leanon remembers about the member beyond asks and thanks."""
        for row in (MemberRow, HelperRow):
            statement = delete(row).where(in_workspace(row, workspace), row.user_id == user_id)
            await self._session.execute(statement.execution_options(**NO_SYNC))
        requests = delete(HelpRequestRow).where(in_workspace(HelpRequestRow, workspace),
                                                HelpRequestRow.helper_id == user_id)
        await self._session.execute(requests.execution_options(**NO_SYNC))

    @translate_errors
    async def helper(self, workspace: WorkspaceRef, user_id: str) -> Helper | None:
        query = select(HelperRow).where(in_workspace(HelperRow, workspace), HelperRow.user_id == user_id)
        row = await self._session.scalar(query.execution_options(**FRESH))
        return _helper(row) if row is not None else None

    @translate_errors
    async def save_helper(self, workspace: WorkspaceRef, helper: Helper, now: datetime) -> None:
        hours = helper.hours
        columns = {
            "active": helper.active,
            "topics": "\n".join(helper.topics),
            "hours_start": hours.start if hours else None,
            "hours_end": hours.end if hours else None,
            "days": sum(1 << day for day in hours.days) if hours else None,
            "zone": hours.zone if hours else None,
            "quiet_on": helper.quiet_on,
            "updated_at": now,
        }
        statement = (
            self._insert(HelperRow)
            .values(**workspace_columns(workspace), user_id=helper.user_id, **columns)
            .on_conflict_do_update(index_elements=["platform", "workspace_id", "user_id"], set_=columns)
        )
        await self._session.execute(statement)

    @translate_errors
    async def helpers(self, workspace: WorkspaceRef) -> list[Helper]:
        query = select(HelperRow).where(in_workspace(HelperRow, workspace)).order_by(HelperRow.user_id)
        return [_helper(row) for row in (await self._session.scalars(query)).all()]

    @translate_errors
    async def lock(self, workspace: WorkspaceRef, user_id: str) -> None:
        """PostgreSQL: a transaction-level advisory lock on the member. SQLite: nothing to
        do, since a transaction already holds the database's one write lock."""
        if self._dialect != "postgresql":
            return
        name = f"member:{workspace.platform.value}:{workspace.workspace_id}:{user_id}".encode()
        key = int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)
        await self._session.execute(select(func.pg_advisory_xact_lock(key)))


def _helper(row: HelperRow) -> Helper:
    hours = None
    if row.hours_start is not None and row.hours_end is not None and row.days and row.zone:
        hours = WorkingHours(row.hours_start, row.hours_end,
                             frozenset(day for day in range(7) if row.days >> day & 1), row.zone)
    return Helper(row.user_id, row.active, tuple(filter(None, row.topics.split("\n"))), hours,
                  row.quiet_on)

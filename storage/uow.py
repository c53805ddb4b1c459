"""The unit of work and the store that hands them out."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.ports import (
    AnswerRepository,
    AskRepository,
    DeliveryRepository,
    HelpRequestRepository,
    InboxRepository,
    InsightRepository,
    MemberRepository,
    ScheduleRepository,
    StatsRepository,
    ThanksRepository,
    UnitOfWork,
    UnitOfWorkFactory,
    WorkspaceRepository,
)
from storage.answers import SqlAnswerRepository
from storage.asks import SqlAskRepository
from storage.deliveries import SqlDeliveryRepository
from storage.engine import READING, create_engine
from storage.errors import DATABASE_ERRORS, storage_error
from storage.inbox import SqlInboxRepository
from storage.insights import SqlInsightRepository
from storage.models import Base
from storage.recent import Recent
from storage.requests import SqlHelpRequestRepository
from storage.schedules import SqlScheduleRepository
from storage.sqlite_driver import INLINE
from storage.stats import SqlStatsRepository
from storage.thanks import SqlThanksRepository
from storage.turn import Turn
from storage.workspaces import SqlMemberRepository, SqlWorkspaceRepository


class SqlUnitOfWork:
    """One database transaction over the repositories (`bot.ports.UnitOfWork`).

    The transaction begins on entry (on SQLite it takes the write lock then, waiting
    for other writers up to the busy timeout) and is rolled back on exit unless
    `commit()` was called. Database failures surface as `bot.errors.StorageError`.

    On SQLite, the units of work of one process first queue on `turn` (FIFO; `urgent` ones,
    which a platform waits on for its answer, first: see `storage.turn`), so that they
    never meet SQLite's busy handler, which polls with sleeps of up to 100 ms and would
    leave the event loop idle while requests wait. Other processes on the same file still
    wait through the busy timeout.
    """

    asks: AskRepository
    answers: AnswerRepository
    thanks: ThanksRepository
    stats: StatsRepository
    schedules: ScheduleRepository
    deliveries: DeliveryRepository
    workspaces: WorkspaceRepository
    members: MemberRepository
    requests: HelpRequestRepository
    insights: InsightRepository
    inbox: InboxRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession], dialect: str,
                 recent: Recent, turn: Turn | None = None, urgent: bool = False,
                 reading: bool = False) -> None:
        self._session = sessions()
        self._turn = None if reading else turn
        self._urgent = urgent
        self._reading = reading
        self._holding = False
        self.commits = 0
        self._asks = SqlAskRepository(self._session, dialect, recent)
        self.asks = self._asks
        self.answers = SqlAnswerRepository(self._session, dialect)
        self.thanks = SqlThanksRepository(self._session, dialect)
        self.stats = SqlStatsRepository(self._session, dialect)
        self.schedules = SqlScheduleRepository(self._session, dialect)
        self.deliveries = SqlDeliveryRepository(self._session, dialect)
        self._workspaces = SqlWorkspaceRepository(self._session, dialect, recent)
        self.workspaces = self._workspaces
        self.members = SqlMemberRepository(self._session, dialect)
        self.requests = SqlHelpRequestRepository(self._session, dialect)
        self.insights = SqlInsightRepository(self._session, dialect)
        self.inbox = SqlInboxRepository(self._session, dialect, recent)

    async def __aenter__(self) -> Self:
        if self._turn is not None:
            await self._turn.acquire(self._urgent)
            self._holding = True
        try:
            await self._session.connection(execution_options=self._options())
        except DATABASE_ERRORS as error:
            await self._close_quietly()
            raise storage_error(error, "starting a database transaction") from error
        except BaseException:
            self._release()
            raise
        return self

    def _options(self) -> dict[str, bool] | None:
        if self._reading:
            return {READING: True}
        # A platform waits for it: on SQLite its statements skip the trips into the driver's
        # thread once it holds the write lock (`storage.sqlite_driver`).
        return {INLINE: True} if self._urgent else None

    def _release(self) -> None:
        if self._holding and self._turn is not None:
            self._holding = False
            self._turn.release()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is not None:
                # The error in flight says more than a failed rollback would.
                await self._close_quietly()
                return
            try:
                await self._session.close()  # rolls back whatever was not committed
            except DATABASE_ERRORS as error:
                raise storage_error(error, "ending a database transaction") from error
        finally:
            self._release()

    async def commit(self) -> None:
        """Make the work so far permanent."""
        try:
            await self._session.commit()
        except DATABASE_ERRORS as error:
            raise storage_error(error, "committing") from error
        finally:
            # What another unit of work read meanwhile is not kept (`storage.recent`).
            self._workspaces.saved()
            self._asks.committed()
        self.commits += 1

    async def _close_quietly(self) -> None:
        try:
            try:
                await self._session.close()
            except DATABASE_ERRORS:
                await self._session.invalidate()
        finally:
            self._release()


class SqlStore:
    """A database for leanon: one per process, shared by every task."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._turn = Turn() if engine.dialect.name == "sqlite" else None
        self.recent = Recent()

    @classmethod
    def from_url(cls, url: str) -> SqlStore:
        """A store on `DATABASE_URL` (see `storage.engine.database_url`); connects lazily."""
        return cls(create_engine(url))

    def unit_of_work(self) -> SqlUnitOfWork:
        """A fresh unit of work, to use once as `async with store.unit_of_work() as uow:`."""
        return SqlUnitOfWork(self._sessions, self.engine.dialect.name, self.recent, self._turn)

    def reading_unit_of_work(self) -> SqlUnitOfWork:
        """A unit of work that only reads (a page of counts): on SQLite it neither waits
        for nor takes the write lock, so writers (answers included) never wait behind it."""
        return SqlUnitOfWork(self._sessions, self.engine.dialect.name, self.recent, self._turn,
                             reading=True)

    def urgent_unit_of_work(self) -> SqlUnitOfWork:
        """A unit of work a platform waits on for its answer: on SQLite it goes before the
        background's in this process (`storage.turn`); elsewhere it is `unit_of_work()`."""
        return SqlUnitOfWork(self._sessions, self.engine.dialect.name, self.recent, self._turn,
                             urgent=True)

    async def ping(self) -> None:
        """Check that the database answers; raise StorageError when it does not."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except DATABASE_ERRORS as error:
            raise storage_error(error, "pinging the database") from error

    async def gather_statistics(self, table: str) -> None:
        """Have PostgreSQL read a table's statistics again now, after many rows were written
        in one go (`leanon answers import`), rather than when autovacuum next comes by:
        until it does, the planner takes a table that grew from nothing for a small one and
        may read a whole workspace where an index would find a few rows (a full-text search
        of 10,000 answers just written took 174 ms at the median, 30 ms once analyzed).
        SQLite plans without statistics here; nothing is done there."""
        if table not in Base.metadata.tables:
            raise ValueError(f"no table {table!r}")
        if self.engine.dialect.name != "postgresql":
            return
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text(f'ANALYZE "{table}"'))
                await connection.commit()
        except DATABASE_ERRORS as error:
            raise storage_error(error, f"analyzing {table}") from error

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


if TYPE_CHECKING:

    def _is_a_unit_of_work(uow: SqlUnitOfWork) -> UnitOfWork:
        return uow

    def _is_a_factory(store: SqlStore) -> UnitOfWorkFactory:
        return store.unit_of_work

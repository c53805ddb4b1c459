"""The inbox in SQL: deliveries stored before they are acknowledged, claimed with leases."""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from itertools import chain, zip_longest
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    Update,
    and_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from bot.domain import InboxItem, NewInboxItem
from storage.errors import translate_errors
from storage.mapping import workspace_columns, workspace_of
from storage.models import InboxItemRow
from storage.recent import Recent
from storage.repository import NO_SYNC, SqlRepository, rowcount, table_of, upsert

ERROR_LENGTH = 255


def _due(now: datetime) -> ColumnElement[bool]:
    """Not done, and not taken (or its lease ran out)."""
    row = InboxItemRow
    return and_(row.done_at.is_(None), or_(row.lease_until.is_(None), row.lease_until <= now))


def _waiting(sources: Collection[str], now: datetime) -> ColumnElement[bool]:
    return and_(_due(now), InboxItemRow.source.in_(list(sources)))


def _item(row: InboxItemRow | Row[Any]) -> InboxItem:
    return InboxItem(id=row.id, source=row.source, key=row.delivery_key,
                     workspace=workspace_of(row), kind=row.kind, payload=row.payload,
                     received_at=row.received_at, attempts=row.attempts, group=row.group_key)


# Built once (read for every batch of reactions' notes; see storage.workspaces._SETTINGS).
_GROUPS: BindParameter[list[str]] = bindparam("groups", expanding=True)
# Locked (PostgreSQL; SQLite's one writer needs no lock): whoever reads a gathering note
# rewrites it, and two replicas reading it at once would each drop the other's lines.
# In the order of ids, so that two batches locking several notes never deadlock.
_WAITING_IN_GROUPS = select(*InboxItemRow.__table__.c).where(
    InboxItemRow.group_key.in_(_GROUPS), InboxItemRow.done_at.is_(None),
    InboxItemRow.owner.is_(None)).order_by(InboxItemRow.id).with_for_update()
_LAST_DONE_IN_GROUPS = select(InboxItemRow.group_key, func.max(InboxItemRow.done_at)).where(
    InboxItemRow.group_key.in_(_GROUPS), InboxItemRow.done_at >= bindparam("since"),
    InboxItemRow.error.is_(None)).group_by(InboxItemRow.group_key)


@functools.cache
def _putting(dialect: str) -> ReturningInsert[Any]:
    """`put_many`'s statement, built once per database: on the table, its rows as
    parameters, so compiled once and cached (a multi-VALUES statement built per call was
    compiled per call, on the answer path)."""
    table = table_of(InboxItemRow)
    return (upsert(dialect, table).on_conflict_do_nothing(index_elements=["delivery_key"])
            .returning(table.c.delivery_key, table.c.id))


@functools.lru_cache(maxsize=128)
def _replacing(count: int, dialect: str) -> Update:
    """`UPDATE … SET payload = CASE id …` for `count` items, each on condition that it still
    waits untaken with its payload as read, built once per count and on the table rather
    than through the ORM's bulk update (building the statement and the ORM's bulk update
    took a third of a batch of reactions' time): parameters `id<n>`, `read<n>` and
    `payload<n>`. On PostgreSQL the items are locked first in the order of their ids, so
    that two replicas changing several notes never deadlock; the lock re-checks the
    conditions on an item's newest version, so a change committed meanwhile is never
    overwritten."""
    table = table_of(InboxItemRow)
    ids: list[BindParameter[int]] = [bindparam(f"id{n}") for n in range(count)]

    def by_id(name: str) -> ColumnElement[Any]:
        return case(*((table.c.id == ids[n], bindparam(f"{name}{n}")) for n in range(count)))

    unchanged = (select(table.c.id)
                 .where(table.c.id.in_(ids), table.c.done_at.is_(None), table.c.owner.is_(None),
                        table.c.payload == by_id("read")))
    if dialect == "postgresql":
        unchanged = unchanged.order_by(table.c.id).with_for_update()
    return (update(table)
            .where(table.c.id.in_(unchanged.scalar_subquery()))
            .values(payload=by_id("payload"))
            .returning(table.c.id))


class SqlInboxRepository(SqlRepository):
    """`bot.ports.InboxRepository` over SQL.

    A claim is a conditional UPDATE of items that are still waiting, so of two workers
    (or two replicas) only one gets each item; on PostgreSQL the items are first locked
    with `FOR UPDATE SKIP LOCKED`, so claimers pass each other instead of queueing.
    """

    def __init__(self, session: AsyncSession, dialect: str, recent: Recent) -> None:
        super().__init__(session, dialect)
        self._recent = recent

    @translate_errors
    async def put_many(self, items: Sequence[NewInboxItem]) -> list[int | None]:
        first: dict[str, NewInboxItem] = {}
        for item in items:
            first.setdefault(item.key, item)
        if not first:
            return []
        rows = [{**workspace_columns(i.workspace), "source": i.source, "delivery_key": i.key,
                 "kind": i.kind, "payload": i.payload, "received_at": i.received_at,
                 # Stored as taken by its sender: that is its first attempt.
                 "attempts": 1 if i.owner else 0, "group_key": i.group,
                 "lease_until": i.not_before, "owner": i.owner}
                for i in first.values()]
        result = await self._session.execute(_putting(self._dialect), rows)
        stored = {key: item_id for key, item_id in result.all()}
        results: list[int | None] = []
        for item in items:  # a key twice in one batch: the first one is the delivery
            mine = first.get(item.key) is item
            results.append(stored.get(item.key) if mine else None)
            if mine:
                first.pop(item.key)
        return results

    @translate_errors
    async def claim(self, sources: Collection[str], owner: str, now: datetime,
                    lease_until: datetime, limit: int) -> list[InboxItem]:
        row = InboxItemRow
        waiting = _waiting(sources, now)
        # The workspaces with waiting work, the one waiting longest first...
        workspaces = (await self._session.execute(
            select(row.platform, row.workspace_id).where(waiting)
            .group_by(row.platform, row.workspace_id)
            .order_by(func.min(row.id)).limit(limit))).all()
        # ... then each one's oldest items, taken in turns.
        queues = [
            (await self._session.scalars(
                select(row.id).where(waiting, row.platform == platform,
                                     row.workspace_id == workspace_id)
                .order_by(row.id).limit(limit))).all()
            for platform, workspace_id in workspaces]
        chosen = [i for i in chain.from_iterable(zip_longest(*queues)) if i is not None][:limit]
        if not chosen:
            return []
        # Taken by id, still due (their source is known): a source condition here would have
        # PostgreSQL read the chosen ids out of the whole queue index for each of them.
        return await self._take(chosen, _due(now), owner, lease_until)

    async def _take(self, chosen: list[int], waiting: ColumnElement[bool], owner: str,
                    lease_until: datetime) -> list[InboxItem]:
        row = InboxItemRow
        lockable = select(row.id).where(row.id.in_(chosen), waiting)
        if self._dialect == "postgresql":
            lockable = lockable.with_for_update(skip_locked=True)
        # The subquery alone decides (on PostgreSQL it re-checks a locked row's conditions
        # on its newest version; on SQLite this is the one writer): the UPDATE finds its rows
        # by id alone, which no planner can turn into a scan of the queue.
        statement = (
            update(row)
            .where(row.id.in_(lockable.scalar_subquery()))
            .values(owner=owner, lease_until=lease_until, attempts=row.attempts + 1)
            .returning(row)
            .execution_options(**NO_SYNC)
        )
        claimed = {r.id: _item(r) for r in (await self._session.scalars(statement)).all()}
        return [claimed[i] for i in chosen if i in claimed]

    @translate_errors
    async def renew(self, ids: Collection[int], owner: str, lease_until: datetime) -> None:
        if not ids:
            return
        row = InboxItemRow
        await self._session.execute(
            update(row).where(row.id.in_(list(ids)), row.owner == owner, row.done_at.is_(None))
            .values(lease_until=lease_until).execution_options(**NO_SYNC))

    @translate_errors
    async def complete(self, item_ids: Collection[int], at: datetime) -> None:
        row = InboxItemRow
        await self._session.execute(
            update(row).where(row.id.in_(list(item_ids)), row.done_at.is_(None))
            .values(done_at=at, owner=None, lease_until=None).execution_options(**NO_SYNC))

    @translate_errors
    async def retry(self, item_id: int, not_before: datetime, error: str) -> None:
        await self._finish(item_id, owner=None, lease_until=not_before,
                           error=error[:ERROR_LENGTH])

    @translate_errors
    async def postpone(self, item_id: int, not_before: datetime) -> None:
        row = InboxItemRow
        # Not an attempt: the claim that counted it is taken back.
        await self._finish(item_id, owner=None, lease_until=not_before, attempts=row.attempts - 1)

    @translate_errors
    async def waiting_in_groups(self, groups: Collection[str],
                                recent: bool = False) -> dict[str, InboxItem]:
        if recent:
            return self._recent.notes(groups)
        if not groups:
            return {}
        found = await self._session.execute(_WAITING_IN_GROUPS, {"groups": list(groups)})
        waiting = {r.group_key: _item(r) for r in found.all() if r.group_key}  # the newest wins
        self._recent.read_notes(waiting.values())
        return waiting

    @translate_errors
    async def pending_in_groups(self, groups: Collection[str]) -> set[str]:
        if not groups:
            return set()
        row = InboxItemRow
        found = await self._session.scalars(
            select(row.group_key).distinct()
            .where(row.group_key.in_(list(groups)), row.done_at.is_(None)))
        return {group for group in found.all() if group}

    @translate_errors
    async def replace_payloads(self, payloads: Mapping[int, tuple[str, str]]) -> set[int]:
        if not payloads:
            return set()
        params: dict[str, object] = {}
        for n, (item_id, (read, payload)) in enumerate(payloads.items()):
            params[f"id{n}"], params[f"read{n}"], params[f"payload{n}"] = item_id, read, payload
        changed = set((await self._session.execute(
            _replacing(len(payloads), self._dialect), params)).scalars())
        self._recent.rewrote_notes({i: new for i, (_, new) in payloads.items() if i in changed},
                                   [i for i in payloads if i not in changed])
        return changed

    @translate_errors
    async def last_done_in_groups(self, groups: Collection[str],
                                  since: datetime) -> dict[str, datetime]:
        if not groups:
            return {}
        found = await self._session.execute(_LAST_DONE_IN_GROUPS,
                                            {"groups": list(groups), "since": since})
        return {group: done for group, done in found.all() if group and done}

    @translate_errors
    async def give_up(self, item_id: int, at: datetime, error: str) -> None:
        await self._finish(item_id, done_at=at, owner=None, lease_until=None,
                           error=error[:ERROR_LENGTH])

    async def _finish(self, item_id: int, **values: object) -> None:
        row = InboxItemRow
        await self._session.execute(
            update(row).where(row.id == item_id, row.done_at.is_(None)).values(**values)
            .execution_options(**NO_SYNC))

    @translate_errors
    async def waiting(self, sources: Collection[str], due_by: datetime | None = None) -> int:
        row = InboxItemRow
        due = or_(row.lease_until.is_(None), row.lease_until <= due_by) if due_by else true()
        count = await self._session.scalar(
            select(func.count()).select_from(row)
            .where(row.done_at.is_(None), row.source.in_(list(sources)), due))
        return int(count or 0)

    @translate_errors
    async def prune(self, done_before: datetime, limit: int = 1000) -> int:
        row = InboxItemRow
        old = select(row.id).where(row.done_at.is_not(None), row.done_at < done_before).limit(limit)
        result = await self._session.execute(
            delete(row).where(row.id.in_(old.scalar_subquery())).execution_options(**NO_SYNC))
        return rowcount(result)

"""Asks and help offers in SQL."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Delete,
    Update,
    bindparam,
    exists,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.domain import Ask, AskStatus, CloseReason, HelpOffer, MessageRef, NewAsk, Platform, WorkspaceRef
from storage.errors import translate_errors
from storage.mapping import in_bound_workspace, in_workspace, to_ask, to_offer, workspace_columns
from storage.models import AskRow, HelpOfferRow
from storage.recent import Recent
from storage.repository import FRESH, NO_SYNC, SqlRepository, rowcount

_OPEN = AskStatus.OPEN.value

# Built once (read for every batch of reactions; see storage.workspaces._SETTINGS).
# As the table's rows, not ORM objects (nothing in the unit of work changes these asks).
_BY_MESSAGES = select(*AskRow.__table__.c).where(
    in_bound_workspace(AskRow),
    tuple_(AskRow.message_channel_id, AskRow.message_id).in_(bindparam("refs", expanding=True)),
).order_by(AskRow.id)
_CARDS_IN_CHANNEL = select(exists().where(in_bound_workspace(AskRow),
                                          AskRow.message_channel_id == bindparam("channel")))


class SqlAskRepository(SqlRepository):
    """`bot.ports.AskRepository` over SQL."""

    def __init__(self, session: AsyncSession, dialect: str, recent: Recent) -> None:
        super().__init__(session, dialect)
        self._recent = recent
        self._posted: set[str] = set()

    @translate_errors
    async def add(self, new: NewAsk) -> Ask:
        row = AskRow(
            **workspace_columns(new.workspace),
            channel_id=new.channel_id,
            asker_id=new.asker_id,
            text=new.text,
            tried=new.tried,
            anonymous=new.anonymous,
            status=AskStatus.HELD.value if new.held else _OPEN,
            created_at=new.created_at,
            request_key=new.request_key,
        )
        self._session.add(row)
        await self._session.flush()
        return to_ask(row)

    @translate_errors
    async def get(self, workspace: WorkspaceRef, ask_id: int) -> Ask | None:
        query = select(AskRow).where(AskRow.id == ask_id, in_workspace(AskRow, workspace))
        row = await self._session.scalar(query.execution_options(**FRESH))
        return to_ask(row) if row is not None else None

    @translate_errors
    async def by_request(self, workspace: WorkspaceRef, request_key: str) -> Ask | None:
        query = select(AskRow).where(in_workspace(AskRow, workspace), AskRow.request_key == request_key)
        row = await self._session.scalar(query.execution_options(**FRESH))
        return to_ask(row) if row is not None else None

    @translate_errors
    async def set_message(self, ask_id: int, ref: MessageRef) -> None:
        self._posted.add(ref.channel_id)
        self._recent.card_posted(ref.channel_id)
        await self._session.execute(
            update(AskRow)
            .where(AskRow.id == ask_id)
            .values(message_channel_id=ref.channel_id, message_id=ref.message_id)
            .execution_options(**NO_SYNC)
        )

    @translate_errors
    async def find_by_message(self, workspace: WorkspaceRef, ref: MessageRef) -> Ask | None:
        """The ask whose card is the message `ref` (adapters pass a thread's parent)."""
        query = (
            select(AskRow)
            .where(
                in_workspace(AskRow, workspace),
                AskRow.message_channel_id == ref.channel_id,
                AskRow.message_id == ref.message_id,
            )
            .order_by(AskRow.id)
            .limit(1)
        )
        row = await self._session.scalar(query.execution_options(**FRESH))
        return to_ask(row) if row is not None else None

    @translate_errors
    async def by_messages(self, workspace: WorkspaceRef,
                          refs: Collection[MessageRef]) -> dict[MessageRef, Ask]:
        if not refs:
            return {}
        found: dict[MessageRef, Ask] = {}
        refs_now = [(ref.channel_id, ref.message_id) for ref in refs]
        for row in await self._session.execute(_BY_MESSAGES, {**workspace_columns(workspace),
                                                              "refs": refs_now}):
            ask = to_ask(row)
            if ask.message is not None:
                found.setdefault(ask.message, ask)  # the first, as find_by_message
        return found

    def committed(self) -> None:
        """Called as the unit of work commits: a no read meanwhile is not kept."""
        for channel_id in self._posted:
            self._recent.card_posted(channel_id)

    @translate_errors
    async def has_cards_in_channel(self, workspace: WorkspaceRef, channel_id: str) -> bool:
        """As this process read it a moment ago, or for good once yes (`storage.recent`)."""
        kept = self._recent.has_cards(workspace, channel_id)
        if kept is not None:
            return kept
        started = self._recent.start()
        found = await self._session.execute(_CARDS_IN_CHANNEL, {**workspace_columns(workspace),
                                                                 "channel": channel_id})
        has = bool(found.scalar_one())
        self._recent.read_cards(workspace, channel_id, has, started)
        return has

    @translate_errors
    async def count_by_asker_since(self, workspace: WorkspaceRef, asker_id: str, since: datetime) -> int:
        query = select(func.count(AskRow.id)).where(
            in_workspace(AskRow, workspace), AskRow.asker_id == asker_id, AskRow.created_at >= since
        )
        return (await self._session.execute(query)).scalar_one()

    @translate_errors
    async def add_offer(self, ask_id: int, helper_id: str, at: datetime) -> bool:
        """Record a help offer; False when this helper had already offered.

        A unique constraint decides, so two simultaneous clicks make one offer.
        """
        statement = (
            self._insert(HelpOfferRow)
            .values(ask_id=ask_id, helper_id=helper_id, created_at=at)
            .on_conflict_do_nothing(index_elements=["ask_id", "helper_id"])
            .returning(HelpOfferRow.id)
        )
        inserted = (await self._session.execute(statement)).scalar_one_or_none()
        if inserted is None:
            return False
        earlier = or_(AskRow.first_offer_at.is_(None), AskRow.first_offer_at > at)
        await self._session.execute(
            update(AskRow).where(AskRow.id == ask_id, earlier).values(first_offer_at=at)
            .execution_options(**NO_SYNC))
        return True

    @translate_errors
    async def offers(self, ask_id: int) -> list[HelpOffer]:
        query = (
            select(HelpOfferRow)
            .where(HelpOfferRow.ask_id == ask_id)
            .order_by(HelpOfferRow.created_at, HelpOfferRow.id)
        )
        rows = await self._session.scalars(query.execution_options(**FRESH))
        return [to_offer(row) for row in rows]

    @translate_errors
    async def close(self, ask: Ask) -> bool:
        """Store `ask`'s status, closing time and reason if it is still open (or held);
        else False."""
        statement = (
            update(AskRow)
            .where(AskRow.id == ask.id, AskRow.status.in_((_OPEN, AskStatus.HELD.value)))
            .values(
                status=ask.status.value,
                closed_at=ask.closed_at,
                close_reason=ask.close_reason.value if ask.close_reason else None,
            )
            .returning(AskRow.id)
            .execution_options(**NO_SYNC)
        )
        return (await self._session.execute(statement)).scalar_one_or_none() is not None

    @translate_errors
    async def close_held(self, created_before: datetime, at: datetime) -> int:
        statement = (
            update(AskRow)
            .where(AskRow.status == AskStatus.HELD.value, AskRow.created_at < created_before)
            .values(status=AskStatus.CLOSED.value, closed_at=at,
                    close_reason=CloseReason.WITHDRAWN.value)
            .execution_options(**NO_SYNC)
        )
        return rowcount(await self._session.execute(statement))

    @translate_errors
    async def post_held(self, ask_id: int, at: datetime) -> bool:
        statement = (
            update(AskRow)
            .where(AskRow.id == ask_id, AskRow.status == AskStatus.HELD.value)
            .values(status=_OPEN, created_at=at)
            .returning(AskRow.id)
            .execution_options(**NO_SYNC)
        )
        return (await self._session.execute(statement)).scalar_one_or_none() is not None

    @translate_errors
    async def list_open(
        self, workspace: WorkspaceRef, channel_id: str | None = None, limit: int = 50
    ) -> list[Ask]:
        """Open asks, oldest first."""
        where = [in_workspace(AskRow, workspace), AskRow.status == _OPEN]
        if channel_id is not None:
            where.append(AskRow.channel_id == channel_id)
        return await self._asks(*where, limit=limit)

    @translate_errors
    async def workspaces_with_open_asks(self) -> list[WorkspaceRef]:
        query = (
            select(AskRow.platform, AskRow.workspace_id)
            .where(AskRow.status == _OPEN)
            .distinct()
            .order_by(AskRow.platform, AskRow.workspace_id)
        )
        rows = await self._session.execute(query)
        return [WorkspaceRef(Platform(platform), ws_id) for platform, ws_id in rows]

    @translate_errors
    async def waiting_without_offer(self, workspace: WorkspaceRef, created_before: datetime) -> list[Ask]:
        """Open asks with no offer and no follow-up yet, created before the given time."""
        has_offer = exists().where(HelpOfferRow.ask_id == AskRow.id)
        return await self._asks(
            in_workspace(AskRow, workspace),
            AskRow.status == _OPEN,
            AskRow.follow_up_at.is_(None),
            AskRow.created_at < created_before,
            ~has_offer,
        )

    @translate_errors
    async def waiting_below_step(self, workspace: WorkspaceRef, step: int,
                                 created_before: datetime) -> list[Ask]:
        has_offer = exists().where(HelpOfferRow.ask_id == AskRow.id)
        return await self._asks(
            in_workspace(AskRow, workspace),
            AskRow.status == _OPEN,
            AskRow.ladder_step < step,
            AskRow.created_at < created_before,
            ~has_offer,
        )

    @translate_errors
    async def claim_step(self, ask_id: int, step: int, asked_helpers: int | None = None) -> bool:
        has_offer = exists().where(HelpOfferRow.ask_id == AskRow.id)
        values: dict[str, int] = {"ladder_step": step}
        if asked_helpers is not None:
            values["asked_helpers"] = asked_helpers
        statement = (
            update(AskRow)
            .where(AskRow.id == ask_id, AskRow.status == _OPEN, AskRow.ladder_step < step, ~has_offer)
            .values(**values)
            .returning(AskRow.id)
            .execution_options(**NO_SYNC)
        )
        return (await self._session.execute(statement)).scalar_one_or_none() is not None

    @translate_errors
    async def claim_follow_up(self, ask_id: int, at: datetime) -> bool:
        """Mark the follow-up as sent; False when another worker already claimed it."""
        statement = (
            update(AskRow)
            .where(AskRow.id == ask_id, AskRow.follow_up_at.is_(None))
            .values(follow_up_at=at)
            .returning(AskRow.id)
            .execution_options(**NO_SYNC)
        )
        return (await self._session.execute(statement)).scalar_one_or_none() is not None

    @translate_errors
    async def open_created_before(self, workspace: WorkspaceRef, before: datetime) -> list[Ask]:
        return await self._asks(
            in_workspace(AskRow, workspace), AskRow.status == _OPEN, AskRow.created_at < before
        )

    @translate_errors
    async def by_asker(self, workspace: WorkspaceRef, asker_id: str) -> list[Ask]:
        """The member's asks, in the order they were made."""
        return await self._asks(
            in_workspace(AskRow, workspace), AskRow.asker_id == asker_id, order=(AskRow.id,)
        )

    @translate_errors
    async def forget_asker(self, workspace: WorkspaceRef, asker_id: str, delete: bool) -> int:
        """Delete the member's asks (their offers go too), or keep them anonymous with no
        asker; either way remove the member's own help offers in the workspace.
        Returns the number of the member's asks deleted or anonymised."""
        asks_here = select(AskRow.id).where(in_workspace(AskRow, workspace))
        offered = (HelpOfferRow.helper_id == asker_id, HelpOfferRow.ask_id.in_(asks_here))
        helped = list((await self._session.scalars(select(HelpOfferRow.ask_id).where(*offered))).all())
        await self._session.execute(sql_delete(HelpOfferRow).where(*offered)
                                    .execution_options(**NO_SYNC))
        first = (select(func.min(HelpOfferRow.created_at))
                 .where(HelpOfferRow.ask_id == AskRow.id).scalar_subquery())
        for start in range(0, len(helped), 500):  # bounded IN lists
            await self._session.execute(
                update(AskRow).where(AskRow.id.in_(helped[start:start + 500]))
                .values(first_offer_at=first).execution_options(**NO_SYNC))
        theirs = (in_workspace(AskRow, workspace), AskRow.asker_id == asker_id)
        statement: Delete | Update
        if delete:
            statement = sql_delete(AskRow).where(*theirs)
        else:
            statement = update(AskRow).where(*theirs).values(asker_id=None, anonymous=True)
        return rowcount(await self._session.execute(statement.execution_options(**NO_SYNC)))

    @translate_errors
    async def export(self, workspace: WorkspaceRef) -> tuple[list[Ask], list[HelpOffer]]:
        """The workspace's asks and their offers, each in the order they were made."""
        asks = await self._asks(in_workspace(AskRow, workspace), order=(AskRow.id,))
        query = (
            select(HelpOfferRow)
            .join(AskRow, HelpOfferRow.ask_id == AskRow.id)
            .where(in_workspace(AskRow, workspace))
            .order_by(HelpOfferRow.id)
        )
        offers = await self._session.scalars(query.execution_options(**FRESH))
        return asks, [to_offer(row) for row in offers]

    async def _asks(
        self,
        *where: ColumnElement[bool],
        order: tuple[InstrumentedAttribute[Any], ...] = (AskRow.created_at, AskRow.id),
        limit: int | None = None,
    ) -> list[Ask]:
        """The asks matching `where`, oldest first unless `order` says otherwise."""
        query = select(AskRow).where(*where).order_by(*order).limit(limit)
        rows = await self._session.scalars(query.execution_options(**FRESH))
        return [to_ask(row) for row in rows]

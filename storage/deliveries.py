"""Weekly post deliveries in SQL: one row per (schedule, period), decided by the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from bot.domain import Delivery, DeliveryStatus
from storage.errors import translate_errors
from storage.mapping import to_delivery
from storage.models import DeliveryRow
from storage.repository import FRESH, NO_SYNC, SqlRepository

_CLAIMED = DeliveryStatus.CLAIMED.value
_PERIOD = ["schedule_id", "period"]


class SqlDeliveryRepository(SqlRepository):
    """`bot.ports.DeliveryRepository` over SQL.

    Every decision is one statement whose outcome the database settles: the unique key
    (schedule_id, period) for `claim` and `skip`, a conditional UPDATE/DELETE for the rest.
    """

    @translate_errors
    async def claim(self, schedule_id: int, period: str, nonce: str, at: datetime) -> Delivery | None:
        """Claim the (schedule, period) post; None when a delivery for it exists already.

        `INSERT … ON CONFLICT DO NOTHING RETURNING`: of several workers, exactly one gets a row.
        """
        return await self._insert_once(schedule_id, period, nonce, at, DeliveryStatus.CLAIMED)

    @translate_errors
    async def get(self, schedule_id: int, period: str) -> Delivery | None:
        query = select(DeliveryRow).where(
            DeliveryRow.schedule_id == schedule_id, DeliveryRow.period == period
        )
        row = await self._session.scalar(query.execution_options(**FRESH))
        return to_delivery(row) if row is not None else None

    @translate_errors
    async def reclaim(self, delivery: Delivery, at: datetime) -> bool:
        """Take over a claim left behind (a crash): its `claimed_at` becomes `at`.

        False when the row is no longer the claim `delivery` describes (completed,
        released, or reclaimed by another worker, which changed `claimed_at`).
        """
        statement = (
            update(DeliveryRow)
            .where(
                DeliveryRow.id == delivery.id,
                DeliveryRow.status == _CLAIMED,
                DeliveryRow.claimed_at == delivery.claimed_at,
            )
            .values(claimed_at=at)
            .returning(DeliveryRow.id)
            .execution_options(**NO_SYNC)
        )
        return (await self._session.execute(statement)).scalar_one_or_none() is not None

    @translate_errors
    async def complete(self, delivery_id: int, message_id: str, at: datetime) -> None:
        """Mark a claimed delivery posted as `message_id`; a delivery not claimed stays as it is."""
        statement = (
            update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id, DeliveryRow.status == _CLAIMED)
            .values(status=DeliveryStatus.POSTED.value, message_id=message_id, completed_at=at)
        )
        await self._session.execute(statement.execution_options(**NO_SYNC))

    @translate_errors
    async def release(self, delivery_id: int) -> None:
        """Drop a claim whose post failed, so that a later tick tries again.

        Only a claim is dropped: a posted or skipped delivery stays.
        """
        statement = delete(DeliveryRow).where(DeliveryRow.id == delivery_id, DeliveryRow.status == _CLAIMED)
        await self._session.execute(statement.execution_options(**NO_SYNC))

    @translate_errors
    async def skip(self, schedule_id: int, period: str, nonce: str, at: datetime) -> bool:
        """Record a missed period as skipped (claimed and completed at `at`); False when it
        had a delivery already."""
        return await self._insert_once(schedule_id, period, nonce, at, DeliveryStatus.SKIPPED) is not None

    async def _insert_once(
        self, schedule_id: int, period: str, nonce: str, at: datetime, status: DeliveryStatus
    ) -> Delivery | None:
        statement = (
            self._insert(DeliveryRow)
            .values(
                schedule_id=schedule_id,
                period=period,
                status=status.value,
                nonce=nonce,
                claimed_at=at,
                completed_at=None if status is DeliveryStatus.CLAIMED else at,
            )
            .on_conflict_do_nothing(index_elements=_PERIOD)
            .returning(DeliveryRow)
        )
        row = (await self._session.scalars(statement.execution_options(**FRESH))).one_or_none()
        return to_delivery(row) if row is not None else None

"""The database tables as typed SQLAlchemy 2 models.

Rows are named `...Row` so that they never get confused with the domain classes in
`bot.domain`; `storage.mapping` turns one into the other. New tables (Slack OAuth
installations, nudge schedules and deliveries, ...) subclass `Base`, usually with
`WorkspaceScoped`, and arrive with a new Alembic revision.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.domain import AskStatus, CloseReason, ThanksSource
from storage.columns import UtcDateTime

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 64
"""Room for a platform id: Slack ids and timestamps, Discord snowflakes."""


def _one_of(column: str, values: type[Any]) -> str:
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({allowed})"


class Base(DeclarativeBase):
    """Base of every model; every `Mapped[datetime]` is an aware UTC datetime."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


class WorkspaceScoped:
    """Columns naming the workspace a row belongs to."""

    platform: Mapped[str] = mapped_column(String(16), sort_order=-10)
    workspace_id: Mapped[str] = mapped_column(String(128), sort_order=-9)


class WorkspaceRow(WorkspaceScoped, Base):
    """A workspace's settings; a workspace without a row has the default settings."""

    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("platform", "workspace_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-20)
    thanks_emoji: Mapped[str] = mapped_column(Text)
    """Comma-separated emoji names."""
    anonymous_asks: Mapped[bool]
    daily_allowance: Mapped[int | None]
    stale_after_seconds: Mapped[int]
    expire_after_seconds: Mapped[int]
    receiver_dm: Mapped[bool]
    leaderboard: Mapped[bool]


class MemberRow(WorkspaceScoped, Base):
    """What leanon remembers about a member beyond their asks and thanks."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("platform", "workspace_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-20)
    user_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    opted_out: Mapped[bool]


class AskRow(WorkspaceScoped, Base):
    """An ask and the card that shows it."""

    __tablename__ = "asks"
    __table_args__ = (
        Index(None, "platform", "workspace_id", "asker_id", "created_at"),
        Index(None, "status", "created_at"),
        Index(None, "platform", "workspace_id", "message_channel_id", "message_id"),
        CheckConstraint(_one_of("status", AskStatus), name="status"),
        CheckConstraint(_one_of("close_reason", CloseReason), name="close_reason"),
        # AUTOINCREMENT: a deleted ask's id is never reused, so an old card's buttons
        # can never act on a newer ask (PostgreSQL sequences never reuse ids anyway).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True, sort_order=-20)
    channel_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    asker_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    text: Mapped[str] = mapped_column(Text)
    tried: Mapped[str | None] = mapped_column(Text)
    anonymous: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(16))
    message_channel_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    message_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    follow_up_at: Mapped[datetime | None]


class HelpOfferRow(Base):
    """A member who offered to help with an ask (once per member per ask)."""

    __tablename__ = "help_offers"
    __table_args__ = (
        UniqueConstraint("ask_id", "helper_id"),
        Index(None, "helper_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ask_id: Mapped[int] = mapped_column(ForeignKey("asks.id", ondelete="CASCADE"))
    helper_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[datetime]


class ThanksRow(WorkspaceScoped, Base):
    """A thanks from giver to receiver; a retracted thanks is kept but not counted."""

    __tablename__ = "thanks"
    __table_args__ = (
        UniqueConstraint("platform", "workspace_id", "dedupe_key"),
        Index(None, "platform", "workspace_id", "receiver_id", "created_at"),
        Index(None, "platform", "workspace_id", "giver_id", "created_at"),
        Index(None, "ask_id"),
        CheckConstraint(_one_of("source", ThanksSource), name="source"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True, sort_order=-20)
    giver_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    receiver_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    message_channel_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    message_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    emoji: Mapped[str | None] = mapped_column(String(100))
    ask_id: Mapped[int | None] = mapped_column(ForeignKey("asks.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    retracted_at: Mapped[datetime | None]
    dedupe_key: Mapped[str | None] = mapped_column(String(255))

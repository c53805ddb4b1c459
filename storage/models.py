"""The database tables as typed SQLAlchemy 2 models.

Rows are named `...Row` so that they never get confused with the domain classes in
`bot.domain`; `storage.mapping` turns one into the other. New tables subclass `Base`,
usually with `WorkspaceScoped`, and arrive with a new Alembic revision. The Slack OAuth
tables at the end belong to `storage.slack_installations`, not to the core's ports.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any, ClassVar

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.domain import (
    AskStatus,
    CloseReason,
    DeliveryStatus,
    RequestAnswer,
    SuggestionOutcome,
    ThanksSource,
)
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
    suggestions: Mapped[str] = mapped_column(String(16), server_default="on")
    tips_after_seconds: Mapped[int | None] = mapped_column(server_default="900")
    """None: no tips."""
    request_after_seconds: Mapped[int | None] = mapped_column(server_default="2700")
    """Working time before likely helpers are asked; None: never."""
    daily_requests: Mapped[int] = mapped_column(server_default="2")
    escalate_after_seconds: Mapped[int | None] = mapped_column(server_default="14400")
    """Working time before an escalation post; None: never."""
    escalation_channel_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))


class MemberRow(WorkspaceScoped, Base):
    """What leanon remembers about a member beyond their asks and thanks."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("platform", "workspace_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-20)
    user_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    opted_out: Mapped[bool]


class HelperRow(WorkspaceScoped, Base):
    """A member's helper entry: whether leanon may ask them to look at waiting asks, on
    which topics, and in which working hours (none set: never)."""

    __tablename__ = "helpers"
    __table_args__ = (UniqueConstraint("platform", "workspace_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-20)
    user_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    active: Mapped[bool]
    topics: Mapped[str] = mapped_column(Text)
    """One topic per line."""
    hours_start: Mapped[time | None] = mapped_column(Time)
    hours_end: Mapped[time | None] = mapped_column(Time)
    days: Mapped[int | None]
    """The weekdays of the hours, a bit each (Monday is 1)."""
    zone: Mapped[str | None] = mapped_column(String(64))
    quiet_on: Mapped[date | None] = mapped_column(Date)
    """The day (of the helper's) they said "Not now": no more requests that day."""
    updated_at: Mapped[datetime]


class AskRow(WorkspaceScoped, Base):
    """An ask and the card that shows it."""

    __tablename__ = "asks"
    __table_args__ = (
        Index(None, "platform", "workspace_id", "asker_id", "created_at"),
        Index(None, "status", "created_at"),
        Index(None, "platform", "workspace_id", "message_channel_id", "message_id"),
        # A channel's weekly numbers: asks opened (and first-time askers) in a window...
        Index(None, "platform", "workspace_id", "channel_id", "created_at"),
        # ... and asks resolved in it.
        Index(None, "platform", "workspace_id", "channel_id", "status", "closed_at"),
        # The workspace's asks opened in a window, with all the insights page reads of each
        # (covering, its id too: PostgreSQL's index-only scan needs it), and resolved in a window.
        Index("ix_asks_workspace_window", "platform", "workspace_id", "created_at", "channel_id",
              "first_offer_at", "ladder_step", "asked_helpers", "anonymous", "asker_id", "id"),
        Index(None, "platform", "workspace_id", "status", "closed_at"),
        # One ask per platform delivery, however often the delivery is worked.
        Index(None, "platform", "workspace_id", "request_key", unique=True),
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
    ladder_step: Mapped[int] = mapped_column(server_default="0")
    asked_helpers: Mapped[int] = mapped_column(server_default="0")
    request_key: Mapped[str | None] = mapped_column(String(255))
    first_offer_at: Mapped[datetime | None]  # kept by add_offer (and forget-me)


class HelpOfferRow(Base):
    """A member who offered to help with an ask (once per member per ask)."""

    __tablename__ = "help_offers"
    __table_args__ = (
        UniqueConstraint("ask_id", "helper_id"),
        Index(None, "helper_id"),
        # An ask's first offer; its offers in a window, with their helpers (covering).
        Index("ix_help_offers_ask_window", "ask_id", "created_at", "helper_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ask_id: Mapped[int] = mapped_column(ForeignKey("asks.id", ondelete="CASCADE"))
    helper_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[datetime]


class HelpRequestRow(WorkspaceScoped, Base):
    """A helper privately asked to look at a waiting ask (once per helper per ask)."""

    __tablename__ = "help_requests"
    __table_args__ = (
        UniqueConstraint("ask_id", "helper_id"),
        Index(None, "platform", "workspace_id", "requested_at"),
        CheckConstraint(_one_of("answer", RequestAnswer), name="answer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True, sort_order=-20)
    ask_id: Mapped[int] = mapped_column(ForeignKey("asks.id", ondelete="CASCADE"))
    helper_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    requested_at: Mapped[datetime]
    local_date: Mapped[date] = mapped_column(Date)
    """The helper's own date when asked: their daily maximum counts these."""
    answer: Mapped[str | None] = mapped_column(String(16))
    answered_at: Mapped[datetime | None]


class _Token:
    """A one-time link or a session of the insights page, by its token's SHA-256."""

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True, sort_order=-20)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    admin_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class InsightLinkRow(_Token, WorkspaceScoped, Base):
    """A sign-in link of the insights page: for 10 minutes, for one use."""

    __tablename__ = "insight_links"

    used_at: Mapped[datetime | None]


class InsightSessionRow(_Token, WorkspaceScoped, Base):
    """A signed-in admin's session of the insights page."""

    __tablename__ = "insight_sessions"

    ended_at: Mapped[datetime | None]


# The full-text search of answers (migrations 0008 and 0016), not in the models: on SQLite
# an FTS5 table and its shadow tables, named with this prefix; on PostgreSQL a generated
# column of each answer's words (a tsvector) and its GIN index.
FULL_TEXT_PREFIX = "answers_fts"
FULL_TEXT_INDEX = "ix_answers_words"
FULL_TEXT_COLUMN = "words"


def is_full_text(name: str | None) -> bool:
    """Whether a table or index is the answers' full-text search."""
    return name is not None and (name.startswith(FULL_TEXT_PREFIX) or name == FULL_TEXT_INDEX)


def in_models(name: str | None, type_: str, parent_names: Mapping[Any, Any]) -> bool:
    """Whether the schema checks (Alembic's `include_name`) compare a name with the models:
    everything but the answers' full-text search."""
    if type_ == "column":
        return not (name == FULL_TEXT_COLUMN and parent_names.get("table_name") == "answers")
    return not (type_ in ("table", "index") and is_full_text(name))


class AnswerRow(WorkspaceScoped, Base):
    """An answer leanon remembers: a resolved ask's (one per ask), or an imported one."""

    __tablename__ = "answers"
    __table_args__ = (
        Index(None, "platform", "workspace_id", "created_at"),
        # The search's count and catching up read this index alone, never the rows' blobs.
        Index(None, "platform", "workspace_id", "vector_model", "vector_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True, sort_order=-20)
    ask_id: Mapped[int | None] = mapped_column(ForeignKey("asks.id", ondelete="CASCADE"),
                                               unique=True)
    question: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    note_author_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    channel_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    private: Mapped[bool]
    link: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # The search's vector of question and note (float32 bytes), the model that made it,
    # and when (migration 0008; its full-text search is outside the models).
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    vector_model: Mapped[str | None] = mapped_column(String(64))
    vector_at: Mapped[datetime | None]
    # Resolved by "This solved it": the answer it repeats (its wording is another way of
    # asking that question).
    same_as_id: Mapped[int | None] = mapped_column(ForeignKey("answers.id", ondelete="SET NULL"))


class SuggestionRow(WorkspaceScoped, Base):
    """A remembered answer offered to a new ask, and what the asker made of it."""

    __tablename__ = "suggestions"
    __table_args__ = (
        UniqueConstraint("ask_id", "answer_id"),
        Index(None, "platform", "workspace_id", "shown_at"),
        CheckConstraint(_one_of("outcome", SuggestionOutcome), name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True, sort_order=-20)
    ask_id: Mapped[int] = mapped_column(ForeignKey("asks.id", ondelete="CASCADE"))
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    chance: Mapped[float] = mapped_column(Float)
    shown_at: Mapped[datetime]
    outcome: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[datetime | None]


class ThanksRow(WorkspaceScoped, Base):
    """A thanks from giver to receiver; a retracted thanks is kept but not counted."""

    __tablename__ = "thanks"
    __table_args__ = (
        UniqueConstraint("platform", "workspace_id", "dedupe_key"),
        Index(None, "platform", "workspace_id", "receiver_id", "created_at"),
        Index(None, "platform", "workspace_id", "giver_id", "created_at"),
        Index(None, "ask_id"),
        # A channel's thanks in a window; covering, so counting them reads the index only
        # (the insights page counts a workspace's thanks channel by channel here too).
        Index(
            "ix_thanks_channel_window",
            *("platform", "workspace_id", "message_channel_id", "created_at", "receiver_id", "retracted_at"),
        ),
        CheckConstraint(_one_of("source", ThanksSource), name="source"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True, sort_order=-20)
    giver_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    receiver_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    message_channel_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    """The channel the thanks was given in: the message's, or the command's when there is none."""
    message_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    """Set for a thanks on a message (a reaction); the message is (message_channel_id, message_id)."""
    emoji: Mapped[str | None] = mapped_column(String(100))
    ask_id: Mapped[int | None] = mapped_column(ForeignKey("asks.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    retracted_at: Mapped[datetime | None]
    dedupe_key: Mapped[str | None] = mapped_column(String(255))


class ScheduleRow(WorkspaceScoped, Base):
    """A channel's weekly encouragement post and its place in the theme rotation."""

    __tablename__ = "schedules"
    __table_args__ = (
        UniqueConstraint("platform", "workspace_id", "channel_id"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        # Schedule ids name scheduler jobs and deliveries: never give one to a new schedule.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True, sort_order=-20)
    channel_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    weekday: Mapped[int] = mapped_column(SmallInteger)
    """0 = Monday … 6 = Sunday."""
    at_time: Mapped[time] = mapped_column(Time)
    """The local wall-clock time, naive (PostgreSQL `time`, SQLite "HH:MM:SS" text)."""
    timezone: Mapped[str] = mapped_column(String(64))
    """An IANA name, e.g. Europe/Berlin."""
    paused: Mapped[bool]
    updated_at: Mapped[datetime]
    themes_used: Mapped[str] = mapped_column(Text)
    """Comma-separated theme keys of the current rotation, oldest first."""
    posts_sent: Mapped[int]
    failures: Mapped[int]
    """Failed posts in a row."""


class DeliveryRow(Base):
    """One weekly post of one schedule: claimed, then posted, or skipped; once per period."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("schedule_id", "period"),
        CheckConstraint(_one_of("status", DeliveryStatus), name="status"),
        # A released claim's id is never given to a later claim, so a late `complete`
        # from the failed attempt cannot land on it.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(16))
    """The ISO week, e.g. 2026-W48."""
    status: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[str] = mapped_column(String(255))
    claimed_at: Mapped[datetime]
    message_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    completed_at: Mapped[datetime | None]


class SlackInstallationRow(WorkspaceScoped, Base):
    """Where leanon is installed on Slack (OAuth): one row per workspace, with its bot token.

    `workspace_id` is the team id (an org-wide install's: the enterprise id). A reinstall
    replaces the row; an uninstall or a revoked bot token deletes it.
    """

    __tablename__ = "slack_installations"
    __table_args__ = (UniqueConstraint("platform", "workspace_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-20)
    enterprise_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    enterprise_name: Mapped[str | None] = mapped_column(String(255))
    team_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    team_name: Mapped[str | None] = mapped_column(String(255))
    is_enterprise_install: Mapped[bool]
    app_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    bot_token: Mapped[str] = mapped_column(String(255))
    """A secret: never logged (the engine hides statement parameters)."""
    bot_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    bot_user_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    bot_scopes: Mapped[str] = mapped_column(Text)
    """Comma-separated."""
    installer_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    installed_at: Mapped[datetime]


class SlackOAuthStateRow(Base):
    """An OAuth `state` handed to a browser by /slack/install, usable once until it expires."""

    __tablename__ = "slack_oauth_states"
    __table_args__ = (Index(None, "expires_at"),)

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime]


class InboxItemRow(WorkspaceScoped, Base):
    """A delivery a platform made and leanon acknowledged, until a worker has done it.

    Waiting: `done_at` is null and `lease_until` is null or past. Taken: `owner` holds it
    until `lease_until`. Done items are kept a while so that a replay of their key is
    recognised, then pruned.
    """

    __tablename__ = "inbox_items"
    __table_args__ = (
        UniqueConstraint("delivery_key"),
        # The items not done, by source and workspace, with their lease: a claim (fair per
        # workspace) reads this index alone. Done items (kept a while) are not in it.
        Index("ix_inbox_items_queue", "source", "platform", "workspace_id", "lease_until", "id",
              sqlite_where=text("done_at IS NULL"), postgresql_where=text("done_at IS NULL")),
        # Done items, for pruning.
        Index("ix_inbox_items_done", "done_at", sqlite_where=text("done_at IS NOT NULL"),
              postgresql_where=text("done_at IS NOT NULL")),
        # Notes to one member that are sent as one (`bot.outbox`).
        Index("ix_inbox_items_group", "group_key", "done_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True, sort_order=-20)
    source: Mapped[str] = mapped_column(String(16))
    delivery_key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    attempts: Mapped[int]
    owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(255))
    group_key: Mapped[str | None] = mapped_column(String(255))

"""Weekly encouragement posts: schedules, deliveries, and indexes for a channel's numbers.

`thanks.message_channel_id` (already nullable) now also holds the channel of a thanks
given without a message (a /thanks command), so it needs no change.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)
WORKSPACE_ID = sa.String(128)
PLATFORM = sa.String(16)
TIME = sa.DateTime(timezone=True)

INDEXES = [
    (
        "ix_asks_platform_workspace_id_channel_id_created_at",
        "asks",
        ["platform", "workspace_id", "channel_id", "created_at"],
    ),
    (
        "ix_asks_platform_workspace_id_channel_id_status_closed_at",
        "asks",
        ["platform", "workspace_id", "channel_id", "status", "closed_at"],
    ),
    ("ix_help_offers_ask_id_created_at", "help_offers", ["ask_id", "created_at"]),
    # Named by hand: the conventional name would pass PostgreSQL's 63 characters.
    (
        "ix_thanks_channel_window",
        "thanks",
        ["platform", "workspace_id", "message_channel_id", "created_at", "receiver_id", "retracted_at"],
    ),
]


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", PLATFORM, nullable=False),
        sa.Column("workspace_id", WORKSPACE_ID, nullable=False),
        sa.Column("channel_id", ID, nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("at_time", sa.Time(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("themes_used", sa.Text(), nullable=False),
        sa.Column("posts_sent", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_schedules_weekday")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint(
            "platform",
            "workspace_id",
            "channel_id",
            name=op.f("uq_schedules_platform_workspace_id_channel_id"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("nonce", sa.String(255), nullable=False),
        sa.Column("claimed_at", TIME, nullable=False),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("completed_at", TIME, nullable=True),
        sa.CheckConstraint("status IN ('claimed', 'posted', 'skipped')", name=op.f("ck_deliveries_status")),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_deliveries_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("schedule_id", "period", name=op.f("uq_deliveries_schedule_id_period")),
        sqlite_autoincrement=True,
    )
    for name, table, columns in INDEXES:
        op.create_index(op.f(name), table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(op.f(name), table_name=table)
    op.drop_table("deliveries")
    op.drop_table("schedules")

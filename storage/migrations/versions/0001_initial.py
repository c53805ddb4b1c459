"""The first schema: workspaces, members, asks, help offers and thanks.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)
WORKSPACE_ID = sa.String(128)
PLATFORM = sa.String(16)
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", PLATFORM, nullable=False),
        sa.Column("workspace_id", WORKSPACE_ID, nullable=False),
        sa.Column("thanks_emoji", sa.Text(), nullable=False),
        sa.Column("anonymous_asks", sa.Boolean(), nullable=False),
        sa.Column("daily_allowance", sa.Integer(), nullable=True),
        sa.Column("stale_after_seconds", sa.Integer(), nullable=False),
        sa.Column("expire_after_seconds", sa.Integer(), nullable=False),
        sa.Column("receiver_dm", sa.Boolean(), nullable=False),
        sa.Column("leaderboard", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("platform", "workspace_id", name=op.f("uq_workspaces_platform_workspace_id")),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", PLATFORM, nullable=False),
        sa.Column("workspace_id", WORKSPACE_ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint(
            "platform",
            "workspace_id",
            "user_id",
            name=op.f("uq_members_platform_workspace_id_user_id"),
        ),
    )
    op.create_table(
        "asks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", PLATFORM, nullable=False),
        sa.Column("workspace_id", WORKSPACE_ID, nullable=False),
        sa.Column("channel_id", ID, nullable=False),
        sa.Column("asker_id", ID, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tried", sa.Text(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("closed_at", TIME, nullable=True),
        sa.Column("close_reason", sa.String(16), nullable=True),
        sa.Column("message_channel_id", ID, nullable=True),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("follow_up_at", TIME, nullable=True),
        sa.CheckConstraint("status IN ('open', 'resolved', 'closed')", name=op.f("ck_asks_status")),
        sa.CheckConstraint("close_reason IN ('expired', 'withdrawn')", name=op.f("ck_asks_close_reason")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asks")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_asks_platform_workspace_id_asker_id_created_at"),
        "asks",
        ["platform", "workspace_id", "asker_id", "created_at"],
    )
    op.create_index(op.f("ix_asks_status_created_at"), "asks", ["status", "created_at"])
    op.create_index(
        op.f("ix_asks_platform_workspace_id_message_channel_id_message_id"),
        "asks",
        ["platform", "workspace_id", "message_channel_id", "message_id"],
    )
    op.create_table(
        "help_offers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ask_id", sa.Integer(), nullable=False),
        sa.Column("helper_id", ID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["ask_id"],
            ["asks.id"],
            name=op.f("fk_help_offers_ask_id_asks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_offers")),
        sa.UniqueConstraint("ask_id", "helper_id", name=op.f("uq_help_offers_ask_id_helper_id")),
    )
    op.create_index(op.f("ix_help_offers_helper_id"), "help_offers", ["helper_id"])
    op.create_table(
        "thanks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", PLATFORM, nullable=False),
        sa.Column("workspace_id", WORKSPACE_ID, nullable=False),
        sa.Column("giver_id", ID, nullable=False),
        sa.Column("receiver_id", ID, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("message_channel_id", ID, nullable=True),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("emoji", sa.String(100), nullable=True),
        sa.Column("ask_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("retracted_at", TIME, nullable=True),
        sa.Column("dedupe_key", sa.String(255), nullable=True),
        sa.CheckConstraint("source IN ('reaction', 'command', 'resolve')", name=op.f("ck_thanks_source")),
        sa.ForeignKeyConstraint(
            ["ask_id"], ["asks.id"], name=op.f("fk_thanks_ask_id_asks"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thanks")),
        sa.UniqueConstraint(
            "platform",
            "workspace_id",
            "dedupe_key",
            name=op.f("uq_thanks_platform_workspace_id_dedupe_key"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_thanks_platform_workspace_id_receiver_id_created_at"),
        "thanks",
        ["platform", "workspace_id", "receiver_id", "created_at"],
    )
    op.create_index(
        op.f("ix_thanks_platform_workspace_id_giver_id_created_at"),
        "thanks",
        ["platform", "workspace_id", "giver_id", "created_at"],
    )
    op.create_index(op.f("ix_thanks_ask_id"), "thanks", ["ask_id"])


def downgrade() -> None:
    op.drop_table("thanks")
    op.drop_table("help_offers")
    op.drop_table("asks")
    op.drop_table("members")
    op.drop_table("workspaces")

"""The escalation ladder's later steps: requests to likely helpers and the escalation post.

- `help_requests`: a helper privately asked to look at a waiting ask (once per helper per
  ask), on which date of theirs (their daily maximum counts these), and what they did
  with it (offered, not now, stopped).
- `helpers.quiet_on`: the helper's day on which they said "Not now".
- `asks.asked_helpers`: how many helpers were asked (the card says how many, never who).
- `workspaces`: `request_after_seconds` (2700), `daily_requests` (2),
  `escalate_after_seconds` (14400) and `escalation_channel_id` (none until an admin
  chooses one with `/leanon escalate here`).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "help_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace_id", sa.String(128), nullable=False),
        sa.Column("ask_id", sa.Integer(), nullable=False),
        sa.Column("helper_id", sa.String(64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("answer", sa.String(16), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("answer IN ('offered', 'not_now', 'stopped')",
                           name=op.f("ck_help_requests_answer")),
        sa.ForeignKeyConstraint(["ask_id"], ["asks.id"], ondelete="CASCADE",
                                name=op.f("fk_help_requests_ask_id_asks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_requests")),
        sa.UniqueConstraint("ask_id", "helper_id", name=op.f("uq_help_requests_ask_id_helper_id")),
    )
    op.create_index(op.f("ix_help_requests_platform_workspace_id_requested_at"), "help_requests",
                    ["platform", "workspace_id", "requested_at"])
    with op.batch_alter_table("helpers") as batch:
        batch.add_column(sa.Column("quiet_on", sa.Date(), nullable=True))
    with op.batch_alter_table("asks") as batch:
        batch.add_column(sa.Column("asked_helpers", sa.Integer(), server_default="0",
                                   nullable=False))
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("request_after_seconds", sa.Integer(), server_default="2700",
                                   nullable=True))
        batch.add_column(sa.Column("daily_requests", sa.Integer(), server_default="2",
                                   nullable=False))
        batch.add_column(sa.Column("escalate_after_seconds", sa.Integer(), server_default="14400",
                                   nullable=True))
        batch.add_column(sa.Column("escalation_channel_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        for column in ("escalation_channel_id", "escalate_after_seconds", "daily_requests",
                       "request_after_seconds"):
            batch.drop_column(column)
    with op.batch_alter_table("asks") as batch:
        batch.drop_column("asked_helpers")
    with op.batch_alter_table("helpers") as batch:
        batch.drop_column("quiet_on")
    op.drop_index(op.f("ix_help_requests_platform_workspace_id_requested_at"),
                  table_name="help_requests")
    op.drop_table("help_requests")

"""Helpers: members who let leanon ask them to look at waiting asks, with their topics and
working hours.

- `helpers`: one row per member who ever said (`/leanon helper`, `/leanon hours`): active
  or not, topics (one per line), the daily window (`hours_start`, `hours_end`, wall-clock
  times), the weekdays (a bit each, Monday 1) and the IANA time zone. No hours: never asked.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "helpers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace_id", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("topics", sa.Text(), nullable=False),
        sa.Column("hours_start", sa.Time(), nullable=True),
        sa.Column("hours_end", sa.Time(), nullable=True),
        sa.Column("days", sa.Integer(), nullable=True),
        sa.Column("zone", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_helpers")),
        sa.UniqueConstraint("platform", "workspace_id", "user_id",
                            name=op.f("uq_helpers_platform_workspace_id_user_id")),
    )


def downgrade() -> None:
    op.drop_table("helpers")

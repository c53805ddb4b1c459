"""Slack OAuth installs: installations (each workspace's bot token) and install states.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)
WORKSPACE_ID = sa.String(128)
PLATFORM = sa.String(16)
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "slack_installations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", PLATFORM, nullable=False),
        sa.Column("workspace_id", WORKSPACE_ID, nullable=False),
        sa.Column("enterprise_id", ID, nullable=True),
        sa.Column("enterprise_name", sa.String(255), nullable=True),
        sa.Column("team_id", ID, nullable=True),
        sa.Column("team_name", sa.String(255), nullable=True),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("app_id", ID, nullable=True),
        sa.Column("bot_token", sa.String(255), nullable=False),
        sa.Column("bot_id", ID, nullable=False),
        sa.Column("bot_user_id", ID, nullable=False),
        sa.Column("bot_scopes", sa.Text(), nullable=False),
        sa.Column("installer_id", ID, nullable=True),
        sa.Column("installed_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_installations")),
        sa.UniqueConstraint(
            "platform", "workspace_id", name=op.f("uq_slack_installations_platform_workspace_id")
        ),
    )
    op.create_table(
        "slack_oauth_states",
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_slack_oauth_states")),
    )
    op.create_index(op.f("ix_slack_oauth_states_expires_at"), "slack_oauth_states", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_slack_oauth_states_expires_at"), table_name="slack_oauth_states")
    op.drop_table("slack_oauth_states")
    op.drop_table("slack_installations")

"""The insights page: one-time sign-in links and the sessions they start.

- `insight_links`: a link an admin got with `/leanon insights`, by the SHA-256 of its
  token (the token itself is never stored), for 10 minutes and for one use.
- `insight_sessions`: a signed-in admin's session, by the SHA-256 of its cookie's token,
  until it expires or they sign out.
- Indexes for the page's numbers of a whole workspace in a window: asks by creation and by
  resolution, thanks by time (covering, so counting reads the index alone).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _table(name: str, ended: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace_id", sa.String(128), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("admin_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(ended, sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("token_hash", name=op.f(f"uq_{name}_token_hash")),
    )
    op.create_index(op.f(f"ix_{name}_expires_at"), name, ["expires_at"])


def upgrade() -> None:
    _table("insight_links", "used_at")
    _table("insight_sessions", "ended_at")
    op.create_index(op.f("ix_asks_platform_workspace_id_created_at"), "asks",
                    ["platform", "workspace_id", "created_at"])
    op.create_index(op.f("ix_asks_platform_workspace_id_status_closed_at"), "asks",
                    ["platform", "workspace_id", "status", "closed_at"])
    op.create_index("ix_thanks_workspace_window", "thanks",
                    ["platform", "workspace_id", "created_at", "retracted_at", "message_channel_id"])


def downgrade() -> None:
    op.drop_index("ix_thanks_workspace_window", table_name="thanks")
    op.drop_index(op.f("ix_asks_platform_workspace_id_status_closed_at"), table_name="asks")
    op.drop_index(op.f("ix_asks_platform_workspace_id_created_at"), table_name="asks")
    for name in ("insight_sessions", "insight_links"):
        op.drop_index(op.f(f"ix_{name}_expires_at"), table_name=name)
        op.drop_table(name)

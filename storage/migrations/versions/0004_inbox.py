"""The inbox (deliveries stored before they are acknowledged) and one ask per delivery.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbox_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace_id", sa.String(128), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("delivery_key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("lease_until", TIME, nullable=True),
        sa.Column("done_at", TIME, nullable=True),
        sa.Column("error", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_items")),
        sa.UniqueConstraint("delivery_key", name=op.f("uq_inbox_items_delivery_key")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_inbox_items_waiting", "inbox_items",
                    ["done_at", "platform", "workspace_id", "id"])
    op.add_column("asks", sa.Column("request_key", sa.String(255), nullable=True))
    op.create_index(op.f("ix_asks_platform_workspace_id_request_key"), "asks",
                    ["platform", "workspace_id", "request_key"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_asks_platform_workspace_id_request_key"), table_name="asks")
    with op.batch_alter_table("asks") as batch:
        batch.drop_column("request_key")
    op.drop_index("ix_inbox_items_waiting", table_name="inbox_items")
    op.drop_table("inbox_items")

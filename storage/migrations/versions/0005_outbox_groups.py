"""Outgoing messages share the inbox's table: a group key for notes sent as one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox_items") as batch:
        batch.add_column(sa.Column("group_key", sa.String(255), nullable=True))
    op.create_index("ix_inbox_items_group", "inbox_items", ["group_key", "done_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_items_group", table_name="inbox_items")
    with op.batch_alter_table("inbox_items") as batch:
        batch.drop_column("group_key")

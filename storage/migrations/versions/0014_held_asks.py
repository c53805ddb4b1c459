"""Asks held back while their asker looks at suggestions (`suggestions ask-first`).

- `asks.status` may be `held`: asked, not posted; `Post my ask anyway` opens it,
  `This solved it` resolves it without a card.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _statuses(allowed: str) -> None:
    """A new CHECK on `asks.status`. SQLite rebuilds the table for it: AUTOINCREMENT is
    kept, and so is the highest id ever given (a deleted ask's id is never reused)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    highest = None
    if sqlite:
        highest = op.get_bind().execute(
            sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'asks'")).scalar()
    with op.batch_alter_table("asks", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f("ck_asks_status"), type_="check")
        batch.create_check_constraint(op.f("ck_asks_status"), f"status IN ({allowed})")
    if sqlite and highest is not None:
        op.execute(sa.text("UPDATE sqlite_sequence SET seq = max(seq, :seq) WHERE name = 'asks'")
                   .bindparams(seq=highest))


def upgrade() -> None:
    _statuses("'open', 'resolved', 'closed', 'held'")


def downgrade() -> None:
    op.execute("UPDATE asks SET status = 'closed', close_reason = 'withdrawn' "
               "WHERE status = 'held'")
    _statuses("'open', 'resolved', 'closed'")

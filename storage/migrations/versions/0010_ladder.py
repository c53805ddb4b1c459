"""The escalation ladder of an ask with no offer: its first step, tips to the asker.

- `asks.ladder_step`: the ladder's last step taken for the ask (0: none; 1: tips sent),
  claimed with a conditional update so that each step happens once across workers and
  replicas.
- `workspaces.tips_after_seconds`: when an ask with no offer gets its tips (NULL: never;
  900 for every workspace).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("asks") as batch:
        batch.add_column(sa.Column("ladder_step", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("tips_after_seconds", sa.Integer(), server_default="900",
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("tips_after_seconds")
    with op.batch_alter_table("asks") as batch:
        batch.drop_column("ladder_step")

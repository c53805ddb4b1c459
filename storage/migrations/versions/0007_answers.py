"""leanon's memory of answers: what solved each resolved ask, and known answers imported.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace_id", sa.String(128), nullable=False),
        sa.Column("ask_id", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("note_author_id", sa.String(64), nullable=True),
        sa.Column("channel_id", sa.String(64), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["ask_id"], ["asks.id"], name=op.f("fk_answers_ask_id_asks"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
        sa.UniqueConstraint("ask_id", name=op.f("uq_answers_ask_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_answers_platform_workspace_id_created_at"), "answers",
                    ["platform", "workspace_id", "created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_answers_platform_workspace_id_created_at"), table_name="answers")
    op.drop_table("answers")

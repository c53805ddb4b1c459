"""PostgreSQL keeps each answer's words for full-text search in a column of their own.

0008 indexed the expression `to_tsvector('english', question || ' ' || note)` and the
search repeated it: every answer the index found was parsed again for its rank (and for
the recheck), some 20 microseconds each, and where the planner chose the workspace's
index instead (statistics not yet gathered after a large import) every answer of the
workspace was parsed: 190 ms a search at 10,000 answers. `answers.words` is that tsvector,
a generated column kept by PostgreSQL itself, with the GIN index on it; ranking reads the
stored words. SQLite's FTS5 table is unchanged. Like 0008's search, it is not in the
models (`storage.models.in_models`).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in 0008; kept in step with storage/answers.py (ANSWER_WORDS reads the column).
_WORDS = "to_tsvector('english'::regconfig, question || ' ' || coalesce(note, ''))"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_answers_words")
    op.execute(f"ALTER TABLE answers ADD COLUMN words tsvector GENERATED ALWAYS AS ({_WORDS}) STORED")
    op.execute("CREATE INDEX ix_answers_words ON answers USING gin (words)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_answers_words")
    op.execute("ALTER TABLE answers DROP COLUMN words")
    op.execute(f"CREATE INDEX ix_answers_words ON answers USING gin (({_WORDS}))")

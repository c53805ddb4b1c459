"""The answered-before search: each answer's vector, and full-text search over answers.

- `answers.vector` (the language model's vector of question and note, float32 bytes),
  `vector_model` (which model made it) and `vector_at` (when; the search's in-memory
  index catches up from it). A changed note clears the vector until it is made again.
- Full-text search: on SQLite an FTS5 table over question and note, kept by triggers
  (`answers_fts`, English stemming); on PostgreSQL a GIN index on the same words
  (`to_tsvector('english', ...)`), which the search's query repeats. Neither is in the
  models: `storage.answers.FULL_TEXT_TABLES` names what the schema checks leave out.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)

# Kept in step with storage/answers.py (ANSWER_WORDS).
_PG_WORDS = "to_tsvector('english'::regconfig, question || ' ' || coalesce(note, ''))"

_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE answers_fts USING fts5(question, note, content='answers', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER answers_fts_insert AFTER INSERT ON answers BEGIN "
    "INSERT INTO answers_fts(rowid, question, note) VALUES (new.id, new.question, new.note); END",
    "CREATE TRIGGER answers_fts_delete AFTER DELETE ON answers BEGIN "
    "INSERT INTO answers_fts(answers_fts, rowid, question, note) "
    "VALUES ('delete', old.id, old.question, old.note); END",
    "CREATE TRIGGER answers_fts_update AFTER UPDATE OF question, note ON answers BEGIN "
    "INSERT INTO answers_fts(answers_fts, rowid, question, note) "
    "VALUES ('delete', old.id, old.question, old.note); "
    "INSERT INTO answers_fts(rowid, question, note) VALUES (new.id, new.question, new.note); END",
    "INSERT INTO answers_fts(answers_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("vector", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("vector_model", sa.String(64), nullable=True))
        batch.add_column(sa.Column("vector_at", TIME, nullable=True))
    op.create_index(op.f("ix_answers_platform_workspace_id_vector_at"), "answers",
                    ["platform", "workspace_id", "vector_at"])
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_FTS:
            op.execute(statement)
    else:
        op.execute(f"CREATE INDEX ix_answers_words ON answers USING gin ({_PG_WORDS})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER answers_fts_{trigger}")
        op.execute("DROP TABLE answers_fts")
    else:
        op.execute("DROP INDEX ix_answers_words")
    op.drop_index(op.f("ix_answers_platform_workspace_id_vector_at"), table_name="answers")
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("vector_at")
        batch.drop_column("vector_model")
        batch.drop_column("vector")

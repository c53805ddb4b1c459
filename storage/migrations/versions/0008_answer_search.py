"""The answered-before search: each answer's vector, full-text search over answers, the
suggestions shown to new asks, and the workspace setting that turns them off.

- `answers.vector` (the language model's vector of question and note, float32 bytes),
  `vector_model` (which model made it) and `vector_at` (when; the search's in-memory
  index catches up from it). A changed note clears the vector until it is made again.
- Full-text search: on SQLite an FTS5 table over question and note, kept by triggers
  (`answers_fts`, English stemming); on PostgreSQL a GIN index on the same words
  (`to_tsvector('english', ...)`), which the search's query repeats. Neither is in the
  models: `storage.models.is_full_text` names what the schema checks leave out.
- `answers.same_as_id`: an ask resolved by "This solved it" is remembered as another way
  of asking the answer it repeats.
- `suggestions`: each remembered answer offered to a new ask, and the asker's verdict.
- `workspaces.suggestions`: on or off.

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
        batch.add_column(sa.Column("same_as_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_answers_same_as_id_answers"), "answers", ["same_as_id"],
                                 ["id"], ondelete="SET NULL")
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("suggestions", sa.String(16), server_default="on",
                                   nullable=False))
    op.create_table(
        "suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace_id", sa.String(128), nullable=False),
        sa.Column("ask_id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("chance", sa.Float(), nullable=False),
        sa.Column("shown_at", TIME, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("decided_at", TIME, nullable=True),
        sa.CheckConstraint("outcome IN ('solved', 'not-it')", name=op.f("ck_suggestions_outcome")),
        sa.ForeignKeyConstraint(["ask_id"], ["asks.id"], name=op.f("fk_suggestions_ask_id_asks"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["answer_id"], ["answers.id"],
                                name=op.f("fk_suggestions_answer_id_answers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestions")),
        sa.UniqueConstraint("ask_id", "answer_id", name=op.f("uq_suggestions_ask_id_answer_id")),
    )
    op.create_index(op.f("ix_suggestions_platform_workspace_id_shown_at"), "suggestions",
                    ["platform", "workspace_id", "shown_at"])
    op.create_index(op.f("ix_answers_platform_workspace_id_vector_model_vector_at"), "answers",
                    ["platform", "workspace_id", "vector_model", "vector_at"])
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
    op.drop_index(op.f("ix_suggestions_platform_workspace_id_shown_at"), table_name="suggestions")
    op.drop_table("suggestions")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("suggestions")
    op.drop_index(op.f("ix_answers_platform_workspace_id_vector_model_vector_at"),
                  table_name="answers")
    with op.batch_alter_table("answers") as batch:
        batch.drop_constraint(op.f("fk_answers_same_as_id_answers"), type_="foreignkey")
        batch.drop_column("same_as_id")
        batch.drop_column("vector_at")
        batch.drop_column("vector_model")
        batch.drop_column("vector")

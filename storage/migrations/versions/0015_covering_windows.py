"""The insights page reads asks and their offers from indexes alone.

- `ix_asks_workspace_window` also holds each ask's asker, whether it is anonymous, and its
  id (PostgreSQL's index-only scan needs it in the index; SQLite has it there anyway).
- `help_offers`' (ask_id, created_at) index also holds the helper, so an ask's offers in a
  window are read without visiting the table.
- `ix_thanks_workspace_window` (0012) goes: the page now counts a workspace's thanks
  channel by channel in `ix_thanks_channel_window`, and nothing else read it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ASK_WINDOW = ["platform", "workspace_id", "created_at", "channel_id", "first_offer_at",
              "ladder_step", "asked_helpers"]
ASK_WINDOW_NOW = [*ASK_WINDOW, "anonymous", "asker_id", "id"]
OFFERS = "ix_help_offers_ask_id_created_at"
OFFERS_NOW = "ix_help_offers_ask_window"
THANKS_WINDOW = ["platform", "workspace_id", "created_at", "retracted_at", "message_channel_id"]


def upgrade() -> None:
    op.drop_index("ix_asks_workspace_window", table_name="asks")
    op.create_index("ix_asks_workspace_window", "asks", ASK_WINDOW_NOW)
    op.drop_index(op.f(OFFERS), table_name="help_offers")
    op.create_index(OFFERS_NOW, "help_offers", ["ask_id", "created_at", "helper_id"])
    op.drop_index("ix_thanks_workspace_window", table_name="thanks")


def downgrade() -> None:
    op.create_index("ix_thanks_workspace_window", "thanks", THANKS_WINDOW)
    op.drop_index(OFFERS_NOW, table_name="help_offers")
    op.create_index(op.f(OFFERS), "help_offers", ["ask_id", "created_at"])
    op.drop_index("ix_asks_workspace_window", table_name="asks")
    op.create_index("ix_asks_workspace_window", "asks", ASK_WINDOW)

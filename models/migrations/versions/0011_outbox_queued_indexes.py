"""the sender's partial indexes on queued rows, and one on sent rows for pruning

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

QUEUED = sa.text("status = 'queued'")
SENT = sa.text("status = 'sent'")


def upgrade() -> None:
    # Replaced by ix_outbox_queued_next: its ascending target_is_room could not serve the
    # sender's "room posts first" order without sorting every queued row.
    op.drop_index(op.f("ix_outbox_account_priority_target_is_room_id"), table_name="outbox")
    op.create_index(
        "ix_outbox_queued_next",
        "outbox",
        ["account", "priority", sa.column("target_is_room").desc(), "id"],
        sqlite_where=QUEUED,
        postgresql_where=QUEUED,
    )
    op.create_index(
        "ix_outbox_queued_target", "outbox", ["account", "target", "id"], sqlite_where=QUEUED, postgresql_where=QUEUED
    )
    op.create_index(
        "ix_outbox_queued_waiting",
        "outbox",
        ["account", "target", "not_before"],
        sqlite_where=QUEUED,
        postgresql_where=QUEUED,
    )
    op.create_index("ix_outbox_sent_at", "outbox", ["sent_at"], sqlite_where=SENT, postgresql_where=SENT)


def downgrade() -> None:
    op.drop_index("ix_outbox_sent_at", table_name="outbox")
    op.drop_index("ix_outbox_queued_waiting", table_name="outbox")
    op.drop_index("ix_outbox_queued_target", table_name="outbox")
    op.drop_index("ix_outbox_queued_next", table_name="outbox")
    op.create_index(
        op.f("ix_outbox_account_priority_target_is_room_id"),
        "outbox",
        ["account", "priority", "target_is_room", "id"],
        sqlite_where=QUEUED,
        postgresql_where=QUEUED,
    )

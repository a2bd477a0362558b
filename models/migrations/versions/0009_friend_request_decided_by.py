"""who decided a friend request

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("friend_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_by", sa.String(length=64), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("friend_requests", schema=None) as batch_op:
        batch_op.drop_column("decided_by")

"""moderation rules edited on the console (over config.yaml's)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "moderation_rules",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_moderation_rules")),
    )


def downgrade() -> None:
    op.drop_table("moderation_rules")

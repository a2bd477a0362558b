"""微信客服's reply window per customer, kept across restarts

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kf_windows",
        sa.Column("open_kfid", sa.String(length=64), nullable=False),
        sa.Column("external_userid", sa.String(length=128), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("open_kfid", "external_userid", name=op.f("pk_kf_windows")),
    )


def downgrade() -> None:
    op.drop_table("kf_windows")

"""relay lines: what each relay push posted, line by line

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 14:00:00.000000

Pushes relayed before this revision are brought in from ``orders.push_id``, numbered in the
order the orders were paid (what the final list showed until now).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "relay_lines",
        sa.Column("push_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("relayed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_relay_lines_order_id_orders")),
        sa.ForeignKeyConstraint(["push_id"], ["relay_pushes.id"], name=op.f("fk_relay_lines_push_id_relay_pushes")),
        sa.ForeignKeyConstraint(["seller_id"], ["distributors.id"], name=op.f("fk_relay_lines_seller_id_distributors")),
        sa.PrimaryKeyConstraint("push_id", "number", name=op.f("pk_relay_lines")),
        sa.UniqueConstraint("order_id", name=op.f("uq_relay_lines_order_id")),
    )
    with op.batch_alter_table("relay_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_relay_lines_seller_id"), ["seller_id"], unique=False)

    op.execute(
        """
        INSERT INTO relay_lines (push_id, number, order_id, seller_id, amount, quantity, relayed_at)
        SELECT push_id, ROW_NUMBER() OVER (PARTITION BY push_id ORDER BY paid_at, id),
               id, seller_id, amount, quantity, paid_at
        FROM orders
        WHERE push_id IS NOT NULL AND seller_id IS NOT NULL
        """
    )


def downgrade() -> None:

    with op.batch_alter_table("relay_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relay_lines_seller_id"))

    op.drop_table("relay_lines")

"""Sellers' sales as running totals (models.sales), filled from the orders already there

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seller_sales",
        sa.Column("distributor_id", sa.Integer(), nullable=False),
        sa.Column("promoted", sa.BigInteger(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("own", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["distributors.id"], name=op.f("fk_seller_sales_distributor_id_distributors")
        ),
        sa.PrimaryKeyConstraint("distributor_id", name=op.f("pk_seller_sales")),
    )
    op.create_table(
        "seller_customers",
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["distributors.id"], name=op.f("fk_seller_customers_seller_id_distributors")
        ),
        sa.PrimaryKeyConstraint("seller_id", "buyer_id", name=op.f("pk_seller_customers")),
    )
    op.execute(
        "INSERT INTO seller_customers (seller_id, buyer_id) "
        "SELECT DISTINCT seller_id, buyer_id FROM orders WHERE seller_id IS NOT NULL AND NOT self_purchase"
    )
    op.execute(
        "INSERT INTO seller_sales (distributor_id, promoted, customers, own) "
        "SELECT seller_id,"
        " COALESCE(SUM(CASE WHEN self_purchase THEN 0 ELSE amount - refunded END), 0),"
        " COUNT(DISTINCT CASE WHEN self_purchase THEN NULL ELSE buyer_id END),"
        " COALESCE(SUM(CASE WHEN self_purchase THEN amount - refunded ELSE 0 END), 0) "
        "FROM orders WHERE seller_id IS NOT NULL GROUP BY seller_id"
    )


def downgrade() -> None:
    op.drop_table("seller_customers")
    op.drop_table("seller_sales")

"""The fields of an order event a what-if replay reads, as columns beside its payload

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 22:00:00.000000

Existing events get them from their payload: the sku, quantity, amount (yuan text → whole
fen), the buyer's id and the ref code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

COLUMNS = ("course_sku", "quantity", "amount", "buyer_id", "ref")

SQLITE_FILL = """
UPDATE order_events SET
    course_sku = json_extract(payload, '$.course_sku'),
    quantity = json_extract(payload, '$.quantity'),
    amount = CAST(ROUND(json_extract(payload, '$.amount') * 100) AS INTEGER),
    buyer_id = json_extract(payload, '$.buyer.id'),
    ref = json_extract(payload, '$.ref')
"""

POSTGRESQL_FILL = """
UPDATE order_events SET
    course_sku = payload ->> 'course_sku',
    quantity = (payload ->> 'quantity')::integer,
    amount = ROUND((payload ->> 'amount')::numeric * 100)::bigint,
    buyer_id = payload -> 'buyer' ->> 'id',
    ref = payload ->> 'ref'
"""


def upgrade() -> None:
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("course_sku", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("quantity", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("amount", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("buyer_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("ref", sa.String(length=64), nullable=True))
    op.execute(SQLITE_FILL if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_FILL)


def downgrade() -> None:
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)

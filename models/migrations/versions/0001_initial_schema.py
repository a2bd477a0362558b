"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 15:14:52.401694
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "brands",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brands")),
    )
    op.create_table(
        "buyers",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("self_purchase_total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buyers")),
    )
    op.create_table(
        "colearning_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("brand_id", sa.String(length=64), nullable=True),
        sa.Column("course_sku", sa.String(length=64), nullable=True),
        sa.Column("source_room", sa.String(length=128), nullable=False),
        sa.Column("lecturers", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_colearning_sessions")),
    )
    op.create_table(
        "distributors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.String(length=128), nullable=True),
        sa.Column("helper_account", sa.String(length=64), nullable=True),
        sa.Column("buyer_id", sa.String(length=128), nullable=True),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("recruiter_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("entry_path", sa.String(length=16), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level_since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recruiter_id"], ["distributors.id"], name=op.f("fk_distributors_recruiter_id_distributors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_distributors")),
        sa.UniqueConstraint("buyer_id", name=op.f("uq_distributors_buyer_id")),
        sa.UniqueConstraint("code", name=op.f("uq_distributors_code")),
        sa.UniqueConstraint("contact_id", name=op.f("uq_distributors_contact_id")),
    )
    with op.batch_alter_table("distributors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_distributors_recruiter_id"), ["recruiter_id"], unique=False)

    op.create_table(
        "order_events",
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_order_events")),
    )
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_events_order_id"), ["order_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("target_is_room", sa.Boolean(), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("coalesce_key", sa.String(length=160), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_status_account_not_before"), ["status", "account", "not_before"], unique=False
        )

    op.create_table(
        "brand_groups",
        sa.Column("room_id", sa.String(length=128), nullable=False),
        sa.Column("brand_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_brand_groups_brand_id_brands")),
        sa.PrimaryKeyConstraint("room_id", name=op.f("pk_brand_groups")),
    )
    with op.batch_alter_table("brand_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_brand_groups_brand_id"), ["brand_id"], unique=False)

    op.create_table(
        "courses",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("brand_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("pool", sa.BigInteger(), nullable=False),
        sa.Column("margin", sa.BigInteger(), nullable=False),
        sa.Column("bounty", sa.BigInteger(), nullable=False),
        sa.Column("bound_to", sa.String(length=64), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("stock_epoch", sa.Integer(), nullable=False),
        sa.Column("red_packet_thresholds", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_courses_brand_id_brands")),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_courses")),
    )
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_courses_brand_id"), ["brand_id"], unique=False)

    op.create_table(
        "entry_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=16), nullable=False),
        sa.Column("declared_friends", sa.Integer(), nullable=False),
        sa.Column("declared_groups", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("distributor_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["distributors.id"], name=op.f("fk_entry_applications_distributor_id_distributors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_applications")),
    )
    with op.batch_alter_table("entry_applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entry_applications_contact_id"), ["contact_id"], unique=False)

    op.create_table(
        "fan_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.String(length=128), nullable=False),
        sa.Column("distributor_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("why", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name=op.f("fk_fan_locks_buyer_id_buyers")),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["distributors.id"], name=op.f("fk_fan_locks_distributor_id_distributors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fan_locks")),
    )
    with op.batch_alter_table("fan_locks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fan_locks_buyer_id_since"), ["buyer_id", "since"], unique=False)

    op.create_table(
        "platform_codes",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["used_by"], ["distributors.id"], name=op.f("fk_platform_codes_used_by_distributors")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_platform_codes")),
    )
    op.create_table(
        "relay_pushes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=128), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_relay_pushes_brand_id_brands")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_pushes")),
    )
    with op.batch_alter_table("relay_pushes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_relay_pushes_brand_id"), ["brand_id"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("course_sku", sa.String(length=64), nullable=False),
        sa.Column("brand_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=128), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("seller_id", sa.Integer(), nullable=True),
        sa.Column("attribution", sa.String(length=16), nullable=False),
        sa.Column("new_customer", sa.Boolean(), nullable=False),
        sa.Column("self_purchase", sa.Boolean(), nullable=False),
        sa.Column("push_id", sa.Integer(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("qualified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkins_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_orders_brand_id_brands")),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name=op.f("fk_orders_buyer_id_buyers")),
        sa.ForeignKeyConstraint(["course_sku"], ["courses.sku"], name=op.f("fk_orders_course_sku_courses")),
        sa.ForeignKeyConstraint(["push_id"], ["relay_pushes.id"], name=op.f("fk_orders_push_id_relay_pushes")),
        sa.ForeignKeyConstraint(["seller_id"], ["distributors.id"], name=op.f("fk_orders_seller_id_distributors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_brand_id_paid_at"), ["brand_id", "paid_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_buyer_id_course_sku"), ["buyer_id", "course_sku"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_seller_id_paid_at"), ["seller_id", "paid_at"], unique=False)

    op.create_table(
        "red_packets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("course_sku", sa.String(length=64), nullable=True),
        sa.Column("stock_epoch", sa.Integer(), nullable=True),
        sa.Column("threshold", sa.Integer(), nullable=True),
        sa.Column("showcase_order_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name=op.f("fk_red_packets_brand_id_brands")),
        sa.ForeignKeyConstraint(["course_sku"], ["courses.sku"], name=op.f("fk_red_packets_course_sku_courses")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_red_packets")),
        sa.UniqueConstraint(
            "course_sku", "stock_epoch", "threshold", name=op.f("uq_red_packets_course_sku_stock_epoch_threshold")
        ),
        sa.UniqueConstraint("showcase_order_id", name=op.f("uq_red_packets_showcase_order_id")),
    )
    with op.batch_alter_table("red_packets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_red_packets_brand_id"), ["brand_id"], unique=False)

    op.create_table(
        "ledger_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commission_id", sa.Integer(), nullable=True),
        sa.Column("distributor_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.Column("event_id", sa.String(length=128), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("entry", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commission_id"], ["ledger_lines.id"], name=op.f("fk_ledger_lines_commission_id_ledger_lines")
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["distributors.id"], name=op.f("fk_ledger_lines_distributor_id_distributors")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_ledger_lines_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_lines")),
    )
    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_lines_commission_id"), ["commission_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_lines_distributor_id_at"), ["distributor_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_lines_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "uq_ledger_lines_settled_once",
            ["commission_id"],
            unique=True,
            sqlite_where=sa.text("entry = 'settled'"),
            postgresql_where=sa.text("entry = 'settled'"),
        )


def downgrade() -> None:

    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_ledger_lines_settled_once",
            sqlite_where=sa.text("entry = 'settled'"),
            postgresql_where=sa.text("entry = 'settled'"),
        )
        batch_op.drop_index(batch_op.f("ix_ledger_lines_order_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_lines_distributor_id_at"))
        batch_op.drop_index(batch_op.f("ix_ledger_lines_commission_id"))

    op.drop_table("ledger_lines")
    with op.batch_alter_table("red_packets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_red_packets_brand_id"))

    op.drop_table("red_packets")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_seller_id_paid_at"))
        batch_op.drop_index(batch_op.f("ix_orders_buyer_id_course_sku"))
        batch_op.drop_index(batch_op.f("ix_orders_brand_id_paid_at"))

    op.drop_table("orders")
    with op.batch_alter_table("relay_pushes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relay_pushes_brand_id"))

    op.drop_table("relay_pushes")
    op.drop_table("platform_codes")
    with op.batch_alter_table("fan_locks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fan_locks_buyer_id_since"))

    op.drop_table("fan_locks")
    with op.batch_alter_table("entry_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_applications_contact_id"))

    op.drop_table("entry_applications")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_courses_brand_id"))

    op.drop_table("courses")
    with op.batch_alter_table("brand_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_brand_groups_brand_id"))

    op.drop_table("brand_groups")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_status_account_not_before"))

    op.drop_table("outbox")
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_events_order_id"))

    op.drop_table("order_events")
    with op.batch_alter_table("distributors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_distributors_recruiter_id"))

    op.drop_table("distributors")
    op.drop_table("colearning_sessions")
    op.drop_table("buyers")
    op.drop_table("brands")

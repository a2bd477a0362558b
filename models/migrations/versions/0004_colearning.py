"""co-learning: session schedule columns, applications, group records, deliveries; outbox.kind wider

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # "room_invitation_accept" (the helper accepting a co-learning group's invitation) is 22
    # characters: PostgreSQL refused it in a VARCHAR(16).
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(length=16), type_=sa.String(length=32))

    with op.batch_alter_table("colearning_sessions", schema=None) as batch_op:
        # Server defaults only fill rows that already exist; the models give the defaults.
        batch_op.add_column(sa.Column("reminders", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column("cards", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column("buy_keyword", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("group_ids", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("relay_segment", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column(
                "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")
            )
        )
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.Text(), nullable=False, server_default=""))

    op.create_table(
        "colearning_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.String(length=128), nullable=False),
        sa.Column("distributor_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.String(length=128), nullable=False),
        sa.Column("topic", sa.String(length=128), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["distributors.id"], name=op.f("fk_colearning_applications_distributor_id_distributors")
        ),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["room_invitations.id"],
            name=op.f("fk_colearning_applications_invitation_id_room_invitations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_colearning_applications")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_colearning_applications_invitation_id")),
    )
    with op.batch_alter_table("colearning_applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_colearning_applications_distributor_id"), ["distributor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_colearning_applications_room_id"), ["room_id"], unique=False)

    op.create_table(
        "colearning_deliveries",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("moment", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["colearning_sessions.id"],
            name=op.f("fk_colearning_deliveries_session_id_colearning_sessions"),
        ),
        sa.PrimaryKeyConstraint("session_id", "moment", "application_id", name=op.f("pk_colearning_deliveries")),
    )
    op.create_table(
        "colearning_group_records",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("members_at_start", sa.Integer(), nullable=True),
        sa.Column("relayed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["colearning_applications.id"],
            name=op.f("fk_colearning_group_records_application_id"),  # the convention's name passes 63 characters
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["colearning_sessions.id"],
            name=op.f("fk_colearning_group_records_session_id_colearning_sessions"),
        ),
        sa.PrimaryKeyConstraint("session_id", "application_id", name=op.f("pk_colearning_group_records")),
    )


def downgrade() -> None:
    op.drop_table("colearning_group_records")
    op.drop_table("colearning_deliveries")
    with op.batch_alter_table("colearning_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_colearning_applications_room_id"))
        batch_op.drop_index(batch_op.f("ix_colearning_applications_distributor_id"))
    op.drop_table("colearning_applications")
    with op.batch_alter_table("colearning_sessions", schema=None) as batch_op:
        for column in (
            "cancel_reason",
            "cancelled_at",
            "updated_at",
            "relay_segment",
            "group_ids",
            "buy_keyword",
            "cards",
            "reminders",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(length=32), type_=sa.String(length=16))

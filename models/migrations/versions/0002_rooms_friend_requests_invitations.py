"""rooms, friend requests, invitations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:38:05.443089
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "friend_requests",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("hello", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_friend_requests")),
    )
    with op.batch_alter_table("friend_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_friend_requests_contact_id"), ["contact_id"], unique=False)

    op.create_table(
        "room_invitations",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.String(length=128), nullable=False),
        sa.Column("topic", sa.String(length=128), nullable=False),
        sa.Column("inviter", sa.String(length=128), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_invitations")),
    )
    op.create_table(
        "room_members",
        sa.Column("room_id", sa.String(length=128), nullable=False),
        sa.Column("contact_id", sa.String(length=128), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("welcomed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "contact_id", name=op.f("pk_room_members")),
    )
    with op.batch_alter_table("room_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_room_members_contact_id"), ["contact_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("room_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_members_contact_id"))

    op.drop_table("room_members")
    op.drop_table("room_invitations")
    with op.batch_alter_table("friend_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_friend_requests_contact_id"))

    op.drop_table("friend_requests")

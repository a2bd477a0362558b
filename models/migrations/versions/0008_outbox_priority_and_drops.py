"""outbox priority, the sender's partial index, and counts of messages not sent

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

QUEUED = sa.text("status = 'queued'")
# Rows already queued at the upgrade get the priority their template has in bot.base.priorities
# today (a copy: a migration must not change meaning when that table changes later); anything
# else stays a command answer (3).
TIERS = {
    0: (
        "relay_line", "relay_started", "relay_final", "relay_top", "red_packet_announcement", "announcement",
        "colearning_relay", "colearning_relay_image", "colearning_reminder", "colearning_started",
        "colearning_ended", "colearning_course_card", "colearning_cancelled", "colearning_rescheduled",
    ),
    1: (
        "earned_dm", "level_up_dm", "clawback_dm", "red_packet_manager_dm", "showcase_manager_dm", "new_recruit_dm",
        "groups_full_ops", "group_created_ops", "entry_application_ops", "colearning_ops_new",
    ),
    2: (
        "registered", "group_welcome", "group_joined", "group_created", "colearning_received",
        "colearning_approved", "colearning_rejected", "entry_application_rejected", "material_post",
    ),
    4: ("menu", "menu_reminder", "how_to_join"),
}  # fmt: skip
ACTIONS = ("room_add", "room_invite", "friend_accept", "room_invitation_accept")


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.SmallInteger(), server_default="3", nullable=False))
    op.create_index(
        op.f("ix_outbox_account_priority_target_is_room_id"),
        "outbox",
        ["account", "priority", "target_is_room", "id"],
        unique=False,
        sqlite_where=QUEUED,
        postgresql_where=QUEUED,
    )
    outbox = sa.table("outbox", sa.column("status"), sa.column("kind"), sa.column("template"), sa.column("priority"))
    for priority, templates in TIERS.items():
        op.execute(
            outbox.update()
            .where(outbox.c.status == "queued", outbox.c.kind.not_in(ACTIONS), outbox.c.template.in_(templates))
            .values(priority=priority)
        )
    op.execute(outbox.update().where(outbox.c.status == "queued", outbox.c.kind.in_(ACTIONS)).values(priority=2))
    op.create_table(
        "outbox_drops",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "account", "reason", "template", name=op.f("pk_outbox_drops")),
    )


def downgrade() -> None:
    op.drop_table("outbox_drops")
    op.drop_index(op.f("ix_outbox_account_priority_target_is_room_id"), table_name="outbox")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("priority")

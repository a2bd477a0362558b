"""The message outbox, and counts of what the bot chose not to send. (Co-learning sessions are
in models.colearning.)"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.statuses import EnumString, OutboxStatus

QUEUED = text(f"status = '{OutboxStatus.QUEUED}'")
SENT = text(f"status = '{OutboxStatus.SENT}'")
# Kinds sent to a person but paced as posts to their room (``payload["room"]``).
ROOM_KINDS = ("room_add", "room_invite")


class OutboxMessage(Base):
    """Something the bot owes: written in the same transaction as its cause, sent later.

    ``kind``: text | image | room_add | room_invite | friend_accept | room_invitation_accept.
    ``target`` is a contact or room id; ``coalesce_key`` groups queued lines that may go out as
    one message (e.g. relay lines for one room). ``account`` names the helper account that must
    send it. ``priority`` (0 first … 4 last, see bot.base.priorities) is set from the kind of
    message when it is queued.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index(None, "status", "account", "not_before"),
        # A target's queued rows in order: "which lines coalesce before the target's next other
        # message?".
        Index("ix_outbox_queued_target", "account", "target", "id", sqlite_where=QUEUED, postgresql_where=QUEUED),
        # "Is an earlier row of this target waiting out a retry?", asked of every candidate row:
        # a seek to the target's rows due later, which are few, instead of a walk over all its
        # earlier rows (a room's backlog of relay lines).
        Index(
            "ix_outbox_queued_waiting", "account", "target", "not_before", sqlite_where=QUEUED, postgresql_where=QUEUED
        ),
        # Pruning the sent history after outbox.keep_sent_days (services.outbox.prune_sent).
        Index("ix_outbox_sent_at", "sent_at", sqlite_where=SENT, postgresql_where=SENT),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(128))
    target_is_room: Mapped[bool] = mapped_column(default=False)
    template: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # JSON: what the kind of message needs
    coalesce_key: Mapped[str | None] = mapped_column(String(160))
    status: Mapped[OutboxStatus] = mapped_column(EnumString(OutboxStatus), default=OutboxStatus.QUEUED)
    priority: Mapped[int] = mapped_column(SmallInteger, default=3, server_default="3")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The transport's id of a proposed group post (WeCom's msgid): followed until sent or expired.
    task_id: Mapped[str | None] = mapped_column(String(64))
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when it was handed over as a task


# The sender's pick: one account's queued rows by priority, then room posts (DESC, as the query
# orders them, so no sort), then age. Partial, so the sent history (most of the table) is not in
# it: the pick walks this index and stops at the first row it may send.
Index(
    "ix_outbox_queued_next",
    OutboxMessage.account,
    OutboxMessage.priority,
    OutboxMessage.target_is_room.desc(),
    OutboxMessage.id,
    sqlite_where=QUEUED,
    postgresql_where=QUEUED,
)


class OutboxDrop(Base):
    """Messages not sent on purpose, counted per day (in the platform's time zone), helper
    account, reason and template, so ops see e.g. "today: 1,234 menus not queued".

    ``reason``: ``cap`` — a lowest-priority row the account's outbox had no room for
    (``outbox.low_priority_cap``); ``limit`` — an answer beyond the person's or the group's
    budget; ``repeat`` — the same answer the person got a moment ago."""

    __tablename__ = "outbox_drops"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(16), primary_key=True)
    template: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)

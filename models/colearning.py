"""Co-learning (共学营): sessions ops schedule, the distributors' groups that applied (and were
enrolled), what each group got from a session, and each scheduled message recorded once.

The scheduler (APScheduler) is only a timer: everything it needs to rebuild its jobs after a
restart is here, and a delivery row (session, moment, group) is the proof that a reminder or
a card went out, so it goes out once across restarts and processes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.statuses import ApplicationStatus, DeliveryStatus, EnumString, SessionStatus


class ColearningSession(Base):
    """A livestream co-learning session (共学营) relayed into enrolled distributors' groups."""

    __tablename__ = "colearning_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(128))
    brand_id: Mapped[str | None] = mapped_column(String(64))
    course_sku: Mapped[str | None] = mapped_column(String(64))
    source_room: Mapped[str] = mapped_column(String(128))
    lecturers: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[SessionStatus] = mapped_column(EnumString(SessionStatus), default=SessionStatus.SCHEDULED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reminders: Mapped[list[int]] = mapped_column(JSON, default=list)  # minutes before the start
    cards: Mapped[list[int]] = mapped_column(JSON, default=list)  # course card: minutes after the start
    buy_keyword: Mapped[str] = mapped_column(String(64), default="")
    group_ids: Mapped[list[int] | None] = mapped_column(JSON)  # chosen applications; None: every enrolled group
    relay_segment: Mapped[int] = mapped_column(Integer, default=0)  # +1 per image: text lines coalesce between
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")


class ColearningApplication(Base):
    """A distributor's group applying: the distributor invited the helper into it. Ops approve
    (the helper accepts the invitation; the group is enrolled) or reject (with a reason).

    ``status``: pending → enrolled (approved, room known) | approved (room id not known yet:
    wechaty names it only when the helper joins) → enrolled; or rejected; left when the helper
    was removed from the group."""

    __tablename__ = "colearning_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[str] = mapped_column(ForeignKey("room_invitations.id"), unique=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    account: Mapped[str] = mapped_column(String(64))  # the helper account invited
    room_id: Mapped[str] = mapped_column(String(128), default="", index=True)
    topic: Mapped[str] = mapped_column(String(128), default="")
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[ApplicationStatus] = mapped_column(EnumString(ApplicationStatus), default=ApplicationStatus.PENDING)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))


class ColearningGroupRecord(Base):
    """What one group got from one session: members at the start (the transport's member
    list), lecturer messages relayed. Orders are read from the orders table for the report."""

    __tablename__ = "colearning_group_records"

    session_id: Mapped[int] = mapped_column(ForeignKey("colearning_sessions.id"), primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("colearning_applications.id", name="fk_colearning_group_records_application_id"), primary_key=True
    )
    members_at_start: Mapped[int | None] = mapped_column(Integer)
    relayed: Mapped[int] = mapped_column(Integer, default=0)


class ColearningDelivery(Base):
    """A scheduled moment ("reminder:60", "start", "card:30", "end") handled for one group,
    once: the primary key is the guard. ``application_id`` 0 marks the moment itself handled
    (so a skipped moment is logged once, and the timer is not set again)."""

    __tablename__ = "colearning_deliveries"

    session_id: Mapped[int] = mapped_column(ForeignKey("colearning_sessions.id"), primary_key=True)
    moment: Mapped[str] = mapped_column(String(32), primary_key=True)
    application_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[DeliveryStatus] = mapped_column(EnumString(DeliveryStatus))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

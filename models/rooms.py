"""What the helper knows of WeChat: room members (from member lists, not join events alone),
friend requests it did not accept on its own, and invitations into other people's rooms."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.statuses import EnumString, FriendRequestStatus, InvitationStatus


class RoomMember(Base):
    __tablename__ = "room_members"

    room_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    contact_id: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    welcomed: Mapped[bool] = mapped_column(default=False)


class FriendRequestRecord(Base):
    """A friend request to a helper account: accepted automatically when its greeting carries a
    valid code or a configured keyword, otherwise listed for ops."""

    __tablename__ = "friend_requests"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # the transport's request id
    account: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(64))
    hello: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[FriendRequestStatus] = mapped_column(
        EnumString(FriendRequestStatus), default=FriendRequestStatus.PENDING
    )
    reason: Mapped[str] = mapped_column(String(32), default="")  # code | keyword | ops | replaced
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str] = mapped_column(String(64), default="", server_default="")  # the ops console user


class RoomInvitationRecord(Base):
    """The helper was invited into someone's room; ops decide (co-learning applications)."""

    __tablename__ = "room_invitations"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    room_id: Mapped[str] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(String(128), default="")
    inviter: Mapped[str] = mapped_column(String(128))
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[InvitationStatus] = mapped_column(EnumString(InvitationStatus), default=InvitationStatus.PENDING)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

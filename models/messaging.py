"""The message outbox. (Co-learning sessions are in models.colearning.)"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class OutboxMessage(Base):
    """Something the bot owes: written in the same transaction as its cause, sent later.

    ``kind``: text | image | room_add | room_invite | friend_accept | room_invitation_accept.
    ``target`` is a contact or room id; ``coalesce_key`` groups queued lines that may go out as
    one message (e.g. relay lines for one room). ``account`` names the helper account that must
    send it.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index(None, "status", "account", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(128))
    target_is_room: Mapped[bool] = mapped_column(default=False)
    template: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    coalesce_key: Mapped[str | None] = mapped_column(String(160))
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|sending|sent|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

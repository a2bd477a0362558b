"""Group moderation's records: each strike (an offence seen in a brand group), each removal
case with its appeal, and the rules as edited on the console (over config.yaml's). Strikes are
cleared, never deleted; what happened is also in the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.statuses import EnumString, ModerationStatus


class ModerationStrike(Base):
    __tablename__ = "moderation_strikes"
    __table_args__ = (Index(None, "room_id", "contact_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(64), index=True)
    room_id: Mapped[str] = mapped_column(String(128))
    contact_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(64), default="")
    rule: Mapped[str] = mapped_column(String(16))  # core.moderation.Rule
    excerpt: Mapped[str] = mapped_column(Text, default="")  # what was said (shortened), or what was seen
    message_id: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_by: Mapped[str | None] = mapped_column(String(64))


class ModerationCase(Base):
    """Someone taken out of a brand group (or whom ops were asked to take out), and their appeal."""

    __tablename__ = "moderation_cases"
    __table_args__ = (Index(None, "contact_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(64), index=True)
    room_id: Mapped[str] = mapped_column(String(128))
    contact_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(64), default="")
    strikes: Mapped[int] = mapped_column(default=0)
    rules: Mapped[str] = mapped_column(String(200), default="")  # the rules broken, comma-separated
    status: Mapped[ModerationStatus] = mapped_column(EnumString(ModerationStatus))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    appeal: Mapped[str] = mapped_column(Text, default="")
    appealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_note: Mapped[str] = mapped_column(Text, default="")


class ModerationRules(Base):
    """The rules of one scope as edited on the console: ``platform`` (the platform-wide rules
    and the escalation) or a brand id (that brand's words and overrides). ``rules`` holds only
    what was edited; a key left out keeps config.yaml's value. No row: config.yaml alone."""

    __tablename__ = "moderation_rules"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(128), default="")

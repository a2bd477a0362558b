"""The audit log: one row per action that changed money, membership, stock, codes, sessions
or settings — who, when, what, before and after, from where.

Append-only for every role: nothing in the code updates or deletes a row, and the database
refuses it too (a trigger on both SQLite and PostgreSQL, made by migration 0010: ``UPDATE`` or
``DELETE`` on ``audit_entries`` raises ``audit_entries is append-only``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index(None, "at"),
        Index(None, "brand_id", "at"),
        Index(None, "actor", "at"),
        Index(None, "kind", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))  # a console user, a contact id, "system", …
    actor_role: Mapped[str] = mapped_column(String(16))  # ops | manager | distributor | guest | system
    source: Mapped[str] = mapped_column(String(16))  # console | api | cli | chat | system
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # money | membership | stock | codes | sessions | settings | moderation
    action: Mapped[str] = mapped_column(String(48))  # e.g. stock.set, payout, withdrawal.approve
    brand_id: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200), default="")  # what it acted on: a sku, a code, an id
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")

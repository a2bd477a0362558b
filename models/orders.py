"""Orders, their events, and the append-only commission ledger."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.commission import Kind
from core.ledger import Entry, Reason
from core.ledger import LedgerLine as CoreLedgerLine
from models.base import Base, Money, UTCDateTime, utcnow
from models.statuses import EnumString


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index(None, "seller_id", "paid_at"),
        Index(None, "buyer_id", "course_sku"),
        Index(None, "brand_id", "paid_at"),
    )

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # the shop's order id
    course_sku: Mapped[str] = mapped_column(ForeignKey("courses.sku"))
    brand_id: Mapped[str] = mapped_column(ForeignKey("brands.id"))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money)  # paid
    refunded: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # units back in stock
    ref: Mapped[str | None] = mapped_column(String(64))
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("distributors.id"))
    attribution: Mapped[str] = mapped_column(String(16))  # core.attribution.Why
    new_customer: Mapped[bool] = mapped_column(default=False)
    self_purchase: Mapped[bool] = mapped_column(default=False)
    push_id: Mapped[int | None] = mapped_column(ForeignKey("relay_pushes.id"))
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    qualified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # cpa
    checkins_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OrderEvent(Base):
    """Every accepted order event, once: the id makes webhook replays harmless."""

    __tablename__ = "order_events"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128), index=True)
    type: Mapped[str] = mapped_column(String(24))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(16), default="webhook")  # webhook | import
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the event as received (JSON)
    # The payload's fields a what-if replay reads, as plain columns: a million events load
    # without decoding a million payloads. NULL where the payload has none.
    course_sku: Mapped[str | None] = mapped_column(String(128))
    quantity: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    buyer_id: Mapped[str | None] = mapped_column(String(128))
    ref: Mapped[str | None] = mapped_column(String(64))


class LedgerLine(Base):
    """One line of the commission ledger; never updated, never deleted.

    ``entry`` is earned | cancelled | settled | adjusted (see core.ledger). Lines after the
    first point at their commission (the earned line) through ``commission_id``.
    """

    __tablename__ = "ledger_lines"
    __table_args__ = (
        Index(None, "distributor_id", "at"),
        # A commission settles once, even with several processes running the settlement pass.
        Index(
            "uq_ledger_lines_settled_once",
            "commission_id",
            unique=True,
            sqlite_where=text("entry = 'settled'"),
            postgresql_where=text("entry = 'settled'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_lines.id"), index=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"))
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"), index=True)  # None: a payout
    event_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[Kind | None] = mapped_column(EnumString(Kind))  # None: a payout
    entry: Mapped[Entry] = mapped_column(EnumString(Entry))
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[Reason] = mapped_column(EnumString(Reason, length=32))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @classmethod
    def from_core(
        cls,
        line: CoreLedgerLine[int | None],
        *,
        order_id: str | None,
        event_id: str | None = None,
        detail: Mapping[str, object] | None = None,
    ) -> LedgerLine:
        """The row for a line the core decided on (earned, cancelled, settled, adjusted…):
        its commission is the earned line's row id (None: it is the earned line, or a payout)."""
        return cls(
            commission_id=line.commission_id,
            distributor_id=int(line.payee),
            order_id=order_id,
            event_id=event_id,
            kind=line.kind,
            entry=line.entry,
            amount=line.amount,
            reason=line.reason,
            detail=dict(detail or {}),
            at=line.at,
        )

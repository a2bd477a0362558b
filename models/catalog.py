"""Brands, their groups and courses; stock and red packets owed."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, UTCDateTime, utcnow
from models.statuses import EnumString, RedPacketReason


class Brand(Base):
    __tablename__ = "brands"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))


class BrandGroup(Base):
    __tablename__ = "brand_groups"

    room_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    brand_id: Mapped[str] = mapped_column(ForeignKey("brands.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    capacity: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)  # filled in this order
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    account: Mapped[str | None] = mapped_column(String(64))  # the helper account in this room


class Course(Base):
    __tablename__ = "courses"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    brand_id: Mapped[str] = mapped_column(ForeignKey("brands.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(24))
    price: Mapped[Decimal] = mapped_column(Money)
    pool: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    margin: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    bounty: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    bound_to: Mapped[str | None] = mapped_column(String(64))
    stock: Mapped[int | None] = mapped_column(Integer)  # None: unlimited
    stock_epoch: Mapped[int] = mapped_column(Integer, default=0)  # +1 each time stock is set
    red_packet_thresholds: Mapped[list[int]] = mapped_column(JSON, default=list)


class RedPacket(Base):
    """A red packet owed: a stock threshold crossed, or an order showcase (晒单). The bot cannot
    send red packets; the course manager does, and someone marks it paid."""

    __tablename__ = "red_packets"
    __table_args__ = (
        UniqueConstraint("course_sku", "stock_epoch", "threshold"),
        UniqueConstraint("showcase_order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[str] = mapped_column(ForeignKey("brands.id"), index=True)
    reason: Mapped[RedPacketReason] = mapped_column(EnumString(RedPacketReason))
    course_sku: Mapped[str | None] = mapped_column(ForeignKey("courses.sku"))
    stock_epoch: Mapped[int | None] = mapped_column(Integer)
    threshold: Mapped[int | None] = mapped_column(Integer)
    showcase_order_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_by: Mapped[str | None] = mapped_column(String(64))


class RelayPush(Base):
    """An order-relay push (出单接龙) in a brand's groups: while open, each attributed order
    adds a numbered line."""

    __tablename__ = "relay_pushes"

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[str] = mapped_column(ForeignKey("brands.id"), index=True)
    title: Mapped[str] = mapped_column(String(128), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_by: Mapped[str] = mapped_column(String(128), default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    line_count: Mapped[int] = mapped_column(Integer, default=0)


class RelayLine(Base):
    """One line a relay push posted: what the group read ("3. 李** 出单 … ×17"), kept as
    relayed. The push's boards and final list are built from these lines — not from a window
    of payment times, which misses an order paid (by the shop's clock) before the push began
    and orders the list differently from the lines the group saw."""

    __tablename__ = "relay_lines"
    __table_args__ = (UniqueConstraint("order_id"),)  # an order is relayed once, by one push

    push_id: Mapped[int] = mapped_column(ForeignKey("relay_pushes.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)  # as posted: 1, 2, 3 …
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)  # paid, as relayed (refunds are read from the order)
    quantity: Mapped[int] = mapped_column(Integer)
    relayed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

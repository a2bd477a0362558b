"""Distributors, their codes, entry applications, buyers and fan locks."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, UTCDateTime, utcnow
from models.statuses import DistributorStatus, EntryApplicationStatus, EnumString


class Distributor(Base):
    __tablename__ = "distributors"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # personal code, used as order ref
    name: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[str | None] = mapped_column(String(128), unique=True)  # WeChat contact
    helper_account: Mapped[str | None] = mapped_column(String(64))  # the helper they are friends with
    buyer_id: Mapped[str | None] = mapped_column(String(128), unique=True)  # the shop's customer id
    level: Mapped[str] = mapped_column(String(8))
    recruiter_id: Mapped[int | None] = mapped_column(ForeignKey("distributors.id"), index=True)
    status: Mapped[DistributorStatus] = mapped_column(EnumString(DistributorStatus), default=DistributorStatus.ACTIVE)
    entry_path: Mapped[str] = mapped_column(String(16), default="code")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    level_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlatformCode(Base):
    """A single-use code the platform issues to people with no recruiter."""

    __tablename__ = "platform_codes"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("distributors.id"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EntryApplication(Base):
    """Someone asking to become a distributor by declared reach, waiting for ops."""

    __tablename__ = "entry_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(16))
    declared_friends: Mapped[int] = mapped_column(Integer, default=0)
    declared_groups: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[EntryApplicationStatus] = mapped_column(
        EnumString(EntryApplicationStatus), default=EntryApplicationStatus.PENDING
    )
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    distributor_id: Mapped[int | None] = mapped_column(ForeignKey("distributors.id"))


class Buyer(Base):
    __tablename__ = "buyers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # the shop's customer id
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    self_purchase_total: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))


class FanLock(Base):
    """The buyer's lock history (锁粉): one row each time the buyer is locked to someone."""

    __tablename__ = "fan_locks"
    __table_args__ = (Index(None, "buyer_id", "since"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"))
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    why: Mapped[str] = mapped_column(String(16))  # new_lock | moved
    order_id: Mapped[str | None] = mapped_column(String(128))

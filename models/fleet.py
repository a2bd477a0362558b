"""Leases: which process leads the fleet and which one sends for each helper account.

One row per lease (``leader``, ``sender:<account>``). Its holder renews it by a heartbeat; once
``expires_at`` has passed without a renewal any process may take it. Every time here is the
database's clock (PostgreSQL's ``clock_timestamp()``), never a process's: processes on several
machines, or on a set ``DISTBOT_CLOCK``, agree on when a lease ran out. A sender lease also
carries the account's shared pace (``next_send_at``): the earliest moment the account may send
again, whichever process sends, so a takeover does not burst past WeChat's limit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class FleetLease(Base):
    __tablename__ = "fleet_leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)  # leader | sender:<account>
    holder: Mapped[str] = mapped_column(String(200))  # the process: host:pid:random
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when this holder took it
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime())  # its last heartbeat
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())  # free for anyone from then
    next_send_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # sender leases: the pace

"""Withdrawals (提现): a distributor asks for settled money, ops approve (a ``paid_out`` ledger
line is written) or reject it. At most one open request per person, held by a partial unique
index, so two requests arriving at once cannot both be open."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, UTCDateTime, utcnow
from models.statuses import EnumString, WithdrawalStatus


class Withdrawal(Base):
    __tablename__ = "withdrawals"
    __table_args__ = (
        Index(
            "uq_withdrawals_one_open",
            "distributor_id",
            unique=True,
            sqlite_where=text("status = 'requested'"),
            postgresql_where=text("status = 'requested'"),
        ),
        Index(None, "status", "decided_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[WithdrawalStatus] = mapped_column(EnumString(WithdrawalStatus), default=WithdrawalStatus.REQUESTED)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was rejected
    ledger_line_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_lines.id"))  # the payout line

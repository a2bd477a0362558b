"""Codes a transport made for people to scan: WeCom's join codes (one per brand) and 联系我 codes
(one per distributor, the distributor's code as the state). Made once and kept: WeCom lists
codes made through the API nowhere, and each one counts against the company's 500,000."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

JOIN = "join"  # key: the brand id
CONTACT = "contact"  # key: the distributor's personal code


class TransportCode(Base):
    __tablename__ = "transport_codes"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    config_id: Mapped[str] = mapped_column(String(128))
    url: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


async def find_code(session: AsyncSession, account: str, kind: str, key: str) -> TransportCode | None:
    # by its primary key: get() also sees a code added earlier in the same unit of work
    return await session.get(TransportCode, (account, kind, key))

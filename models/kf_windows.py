"""微信客服's reply window per customer (``core.kf_window``), kept so that a restart inside the
window still answers: written when a customer's message comes in and when an answer goes out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.kf_window import Window
from models.base import Base, UTCDateTime
from models.upsert import upsert


class KfWindow(Base):
    __tablename__ = "kf_windows"

    open_kfid: Mapped[str] = mapped_column(String(64), primary_key=True)
    external_userid: Mapped[str] = mapped_column(String(128), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the customer's last message
    sent: Mapped[int] = mapped_column(Integer, default=0)  # answers since


async def find_window(session: AsyncSession, open_kfid: str, person: str) -> Window | None:
    row = await session.get(KfWindow, (open_kfid, person))
    return None if row is None else Window(row.opened_at, row.sent)


async def windows_since(session: AsyncSession, open_kfid: str, since: datetime) -> dict[str, Window]:
    """The windows opened at ``since`` or later (the ones that may still be open)."""
    rows = await session.scalars(select(KfWindow).where(KfWindow.open_kfid == open_kfid, KfWindow.opened_at >= since))
    return {r.external_userid: Window(r.opened_at, r.sent) for r in rows}


async def save_window(session: AsyncSession, open_kfid: str, person: str, window: Window) -> None:
    """Write ``window``, unless the one stored opened later (another process saw a newer message)."""
    statement = upsert(
        session,
        KfWindow,
        [{"open_kfid": open_kfid, "external_userid": person, "opened_at": window.opened_at, "sent": window.sent}],
        on=["open_kfid", "external_userid"],
        set_=lambda excluded: {"opened_at": excluded.opened_at, "sent": excluded.sent},
        where=KfWindow.opened_at <= window.opened_at,
    )
    await session.execute(statement)

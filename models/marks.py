"""Marks: when something last happened, for what may happen at most once per period — the
brand menu per person, the "all groups full" alert per brand, the material-group post per
day — and counts of failures in a window (wrong codes per person).

Each question is one statement that is safe under concurrency (INSERT … ON CONFLICT), so
several processes on one database agree on who goes first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, String, case, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime
from models.upsert import insert_or_ignore, upsert


class Mark(Base):
    __tablename__ = "marks"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)  # e.g. "menu:wx-lina"
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # last time it happened / window start
    count: Mapped[int] = mapped_column(Integer, default=1)  # events in the window


async def claim(session: AsyncSession, key: str, now: datetime, every: timedelta | None = None) -> bool:
    """True (and the mark set to ``now``) when ``key`` never happened, or last happened at
    least ``every`` ago; False otherwise. ``every=None``: once ever (a key per day, say)."""
    row = {"key": key, "at": now, "count": 1}
    if every is None:
        statement = insert_or_ignore(session, Mark, row)
    else:
        statement = upsert(
            session,
            Mark,
            row,
            on=[Mark.key],
            set_=lambda excluded: {"at": excluded.at, "count": 1},
            where=Mark.at <= now - every,
        )
    return (await session.execute(statement.returning(Mark.key))).first() is not None


async def last(session: AsyncSession, key: str) -> datetime | None:
    return await session.scalar(select(Mark.at).where(Mark.key == key))


async def count_in_window(session: AsyncSession, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
    """How many times ``key`` happened in the window that is open at ``now`` (0 when none is),
    and when that window started."""
    row = (await session.execute(select(Mark.count, Mark.at).where(Mark.key == key))).first()
    if row is None:
        return 0, now
    count, start = row
    if start <= now - window:
        return 0, now
    return int(count), start


async def bump(session: AsyncSession, key: str, now: datetime, window: timedelta) -> int:
    """Count one more event for ``key``; a window opens at the first event and lasts
    ``window``. Returns the count in the current window."""
    expired = Mark.at <= now - window
    statement = upsert(
        session,
        Mark,
        {"key": key, "at": now, "count": 1},
        on=[Mark.key],
        set_=lambda excluded: {
            "count": case((expired, 1), else_=Mark.count + 1),
            "at": case((expired, excluded.at), else_=Mark.at),
        },
    )
    return int((await session.execute(statement.returning(Mark.count))).scalar_one())


async def forget(session: AsyncSession, key: str) -> None:
    await session.execute(delete(Mark).where(Mark.key == key))

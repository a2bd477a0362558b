"""Marks: when something last happened, for what may happen at most once per period — the
brand menu per person, the "all groups full" alert per brand, the material-group post per
day — and counts of failures in a window (wrong codes per person).

Each question is one statement that is safe under concurrency (INSERT … ON CONFLICT), so
several processes on one database agree on who goes first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, case, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class Mark(Base):
    __tablename__ = "marks"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)  # e.g. "menu:wx-lina"
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # last time it happened / window start
    count: Mapped[int] = mapped_column(Integer, default=1)  # events in the window


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    return (postgresql if dialect == "postgresql" else sqlite).insert(Mark)


async def claim(session: AsyncSession, key: str, now: datetime, every: timedelta | None = None) -> bool:
    """True (and the mark set to ``now``) when ``key`` never happened, or last happened at
    least ``every`` ago; False otherwise. ``every=None``: once ever (a key per day, say)."""
    insert = _insert(session).values(key=key, at=now, count=1)
    if every is None:
        statement = insert.on_conflict_do_nothing().returning(Mark.key)
    else:
        statement = insert.on_conflict_do_update(
            index_elements=[Mark.key],
            set_={"at": insert.excluded.at, "count": 1},
            where=Mark.at <= now - every,
        ).returning(Mark.key)
    return (await session.execute(statement)).first() is not None


async def last(session: AsyncSession, key: str) -> datetime | None:
    return await session.scalar(select(Mark.at).where(Mark.key == key))


async def count_in_window(session: AsyncSession, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
    """How many times ``key`` happened in the window that is open at ``now`` (0 when none is),
    and when that window started."""
    row = (await session.execute(select(Mark.count, Mark.at).where(Mark.key == key))).first()
    if row is None or row.at <= now - window:
        return 0, now
    return int(row.count), row.at


async def bump(session: AsyncSession, key: str, now: datetime, window: timedelta) -> int:
    """Count one more event for ``key``; a window opens at the first event and lasts
    ``window``. Returns the count in the current window."""
    expired = Mark.at <= now - window
    insert = _insert(session).values(key=key, at=now, count=1)
    statement = insert.on_conflict_do_update(
        index_elements=[Mark.key],
        set_={
            "count": case((expired, 1), else_=Mark.count + 1),
            "at": case((expired, insert.excluded.at), else_=Mark.at),
        },
    ).returning(Mark.count)
    return int((await session.execute(statement)).scalar_one())


async def forget(session: AsyncSession, key: str) -> None:
    await session.execute(Mark.__table__.delete().where(Mark.key == key))

"""The fleet's lease statements (bot.runtime.fleet), one function each — PostgreSQL only (on
SQLite one process owns everything and takes no lease) — and the outbox's queues per account
that ``distbot fleet status`` and ``/metrics`` show (both databases). Nothing here commits.

Each is a single statement on one row, so PostgreSQL's row lock is the whole of the
coordination: two processes taking the same expired lease at once both run the upsert, one
waits for the other's commit, re-reads the row and finds it held. Every time is the database's
``clock_timestamp()``.

Example — process ``a`` holds ``leader`` for 10 s; ``b`` asks at once and is refused; ``a``
stops renewing; 10 s later ``b`` asks again and holds it, ``acquired_at`` its own::

    await take(session, "leader", "a", 10)   # True
    await take(session, "leader", "b", 10)   # False
    ...                                      # 10 s without a renewal by "a"
    await take(session, "leader", "b", 10)   # True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, case, extract, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.fleet import FleetLease
from models.messaging import OutboxMessage
from models.statuses import OutboxStatus
from models.upsert import upsert


def _row(name: str, holder: str, now: Any, seconds: float) -> dict[str, Any]:
    return {
        "name": name,
        "holder": holder,
        "acquired_at": now,
        "renewed_at": now,
        "expires_at": now + timedelta(seconds=seconds),
    }


async def take(session: AsyncSession, name: str, holder: str, ttl: float) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``ttl`` seconds from now; True when
    ``holder`` holds it afterwards. A lease held by another, not yet expired, is left alone."""
    now = func.clock_timestamp(type_=DateTime(timezone=True))
    row = _row(name, holder, now, ttl)
    statement = upsert(
        session,
        FleetLease,
        row,
        on=["name"],
        set_=lambda excluded: {
            "holder": excluded.holder,
            "acquired_at": case(
                (FleetLease.holder == excluded.holder, FleetLease.acquired_at), else_=excluded.acquired_at
            ),
            "renewed_at": excluded.renewed_at,
            "expires_at": excluded.expires_at,
        },
        where=or_(FleetLease.holder == holder, FleetLease.expires_at <= now),
    ).returning(FleetLease.holder)
    return (await session.scalar(statement)) == holder


async def take_period(session: AsyncSession, name: str, holder: str, period: float) -> bool:
    """Take the run of a periodic job for this period: True for the first process to ask since
    the last taker's period (``period`` seconds, less a tenth so a timer firing a moment early
    is not turned away) ran out; False for every other asker until then."""
    now = func.clock_timestamp(type_=DateTime(timezone=True))
    row = _row(name, holder, now, period * 0.9)
    statement = upsert(
        session,
        FleetLease,
        row,
        on=["name"],
        set_=lambda excluded: {
            "holder": excluded.holder,
            "acquired_at": excluded.acquired_at,
            "renewed_at": excluded.renewed_at,
            "expires_at": excluded.expires_at,
        },
        where=FleetLease.expires_at <= now,
    ).returning(FleetLease.holder)
    return (await session.scalar(statement)) == holder


async def release(session: AsyncSession, name: str, holder: str) -> None:
    """Give up ``name`` at once (a clean stop): another process takes it at its next heartbeat
    instead of waiting for the lease to run out. A lease ``holder`` no longer holds is untouched."""
    await session.execute(
        update(FleetLease)
        .where(FleetLease.name == name, FleetLease.holder == holder)
        .values(expires_at=func.clock_timestamp(type_=DateTime(timezone=True)))
    )


async def send_turn(session: AsyncSession, name: str, holder: str, gap: float) -> float | None:
    """Reserve the account's next send on its sender lease ``name``: the send may go in the
    returned number of seconds (0: now), and the account's next one not before ``gap`` seconds
    after it. None when ``holder`` no longer holds the lease (it ran out, another took it): the
    caller must not send. The row stays locked until the caller commits, so the reservation and
    the claim of the rows to send commit together."""
    now = func.clock_timestamp(type_=DateTime(timezone=True))
    slot = func.greatest(func.coalesce(FleetLease.next_send_at, now), now)
    wait = await session.scalar(
        update(FleetLease)
        .where(FleetLease.name == name, FleetLease.holder == holder, FleetLease.expires_at > now)
        .values(next_send_at=slot + timedelta(seconds=gap))
        .returning(extract("epoch", FleetLease.next_send_at - now))
    )
    if wait is None:
        return None
    return max(0.0, float(wait) - gap)


async def leases(session: AsyncSession) -> tuple[datetime, list[FleetLease]]:
    """The database's time now and every lease, by name (``distbot fleet status``, metrics)."""
    now = await session.scalar(select(func.clock_timestamp(type_=DateTime(timezone=True))))
    rows = list(await session.scalars(select(FleetLease).order_by(FleetLease.name)))
    assert now is not None
    return now, rows


@dataclass(frozen=True)
class AccountQueue:
    account: str
    queued: int
    oldest_queued: datetime | None  # created_at of the oldest queued row
    sending: int
    dead: int


async def queues(session: AsyncSession) -> list[AccountQueue]:
    """Per helper account: rows queued (and since when the oldest), being sent, dead-lettered.
    Over the statuses of work not done, not the sent history."""
    status = OutboxMessage.status
    rows = (
        await session.execute(
            select(
                OutboxMessage.account,
                func.count().filter(status == OutboxStatus.QUEUED),
                func.min(OutboxMessage.created_at).filter(status == OutboxStatus.QUEUED),
                func.count().filter(status == OutboxStatus.SENDING),
                func.count().filter(status == OutboxStatus.DEAD),
            )
            .where(status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.DEAD)))
            .group_by(OutboxMessage.account)
            .order_by(OutboxMessage.account)
        )
    ).all()
    return [AccountQueue(a, int(q), oldest, int(s), int(d)) for a, q, oldest, s, d in rows]

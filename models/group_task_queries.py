"""The named queries of posts that wait on people: group posts proposed to a staff member
(followed until the transport reports them sent, or they expire) and private messages held
until the person writes again (see ``OutboxStatus``); and which of them a brand's course manager
sees: posts to the brand's groups."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import BrandGroup
from models.messaging import OutboxMessage
from models.statuses import OutboxStatus

# What a course manager sees of the outbox: what waits on a staff member or on the person.
WAITING = (OutboxStatus.PROPOSED, OutboxStatus.HELD, OutboxStatus.EXPIRED)
# What a course manager sees of them: their groups' posts. Held rows are private messages.
MANAGERS_SEE = (OutboxStatus.PROPOSED, OutboxStatus.EXPIRED)


def of_brands(brands: Collection[str]) -> ColumnElement[bool]:
    """Outbox rows that concern ``brands``: posts to their groups. Private messages are nobody's
    brand: an earnings answer covers every brand the person sells, so a manager never reads it."""
    rooms = select(BrandGroup.room_id).where(BrandGroup.brand_id.in_(list(brands) or [""]))
    return and_(OutboxMessage.target_is_room.is_(True), OutboxMessage.target.in_(rooms))


async def room_brand(session: AsyncSession, room: str) -> str | None:
    """The brand whose group ``room`` is; None for any other room."""
    return await session.scalar(select(BrandGroup.brand_id).where(BrandGroup.room_id == room))


async def waiting_counts(session: AsyncSession, brands: Collection[str] | None) -> dict[OutboxStatus, int]:
    """How many rows wait (proposed, held) or expired: all of them (``brands`` None) or those of ``brands``."""
    query = select(OutboxMessage.status, func.count()).where(OutboxMessage.status.in_(WAITING))
    if brands is not None:
        query = query.where(of_brands(brands))
    found: dict[OutboxStatus, int] = dict((await session.execute(query.group_by(OutboxMessage.status))).all())
    return {status: int(found.get(status, 0)) for status in WAITING}


async def proposed_rows(session: AsyncSession, account: str, limit: int = 500) -> list[OutboxMessage]:
    """One account's proposed posts, oldest first."""
    return list(
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.account == account, OutboxMessage.status == OutboxStatus.PROPOSED)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


async def settle_task(
    session: AsyncSession, task_id: str, status: OutboxStatus, room: str | None = None, **values: object
) -> int:
    """Every row of one proposed task (coalesced rows share it) to ``status``; with ``room``,
    only that room's rows (a task covering several rooms settles room by room)."""
    where = [OutboxMessage.task_id == task_id, OutboxMessage.status == OutboxStatus.PROPOSED]
    if room is not None:
        where.append(OutboxMessage.target == room)
    result = await session.execute(update(OutboxMessage).where(*where).values(status=status, **values))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def release_held(session: AsyncSession, account: str, people: Collection[str], now: datetime) -> int:
    """``people`` wrote: what was held for them is queued again, due now."""
    if not people:
        return 0
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.account == account,
            OutboxMessage.status == OutboxStatus.HELD,
            OutboxMessage.target.in_(list(people)),
        )
        .values(status=OutboxStatus.QUEUED, not_before=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def rooms_waiting_with(
    session: AsyncSession, account: str, texts: Collection[str], room: str, now: datetime
) -> list[str]:
    """Other rooms with a due text among ``texts`` (rooms that may share ``room``'s post)."""
    rows = await session.scalars(
        select(OutboxMessage.target)
        .where(
            OutboxMessage.account == account,
            OutboxMessage.status == OutboxStatus.QUEUED,
            OutboxMessage.target_is_room.is_(True),
            OutboxMessage.target != room,
            OutboxMessage.kind == "text",
            OutboxMessage.not_before <= now,
            OutboxMessage.text.in_(list(texts)),
        )
        .group_by(OutboxMessage.target)
        .order_by(func.min(OutboxMessage.id))
    )
    return list(rows)


async def waiting_for_room(session: AsyncSession, account: str, room: str, now: datetime) -> list[OutboxMessage]:
    """The texts due for one room, oldest first (a capped room's next digest)."""
    return list(
        await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.account == account,
                OutboxMessage.status == OutboxStatus.QUEUED,
                OutboxMessage.target == room,
                OutboxMessage.target_is_room.is_(True),
                OutboxMessage.kind == "text",
                OutboxMessage.not_before <= now,
            )
            .order_by(OutboxMessage.id)
            .limit(500)
        )
    )


async def posts_since(session: AsyncSession, account: str, room: str, since: datetime) -> list[datetime]:
    """When each post to ``room`` since ``since`` was handed over (proposed, or sent after):
    what counts against the room's cap. A task withdrawn or refused reached nobody."""
    rows = await session.execute(
        select(OutboxMessage.task_id, func.min(OutboxMessage.proposed_at))
        .where(
            OutboxMessage.account == account,
            OutboxMessage.target == room,
            OutboxMessage.status.in_((OutboxStatus.PROPOSED, OutboxStatus.SENT)),
            OutboxMessage.task_id.is_not(None),
            OutboxMessage.proposed_at >= since,
        )
        .group_by(OutboxMessage.task_id)
    )
    return [at for _, at in rows if at is not None]


async def postpone(session: AsyncSession, ids: Collection[int], until: datetime, why: str) -> None:
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(list(ids))).values(not_before=until, last_error=why)
    )


async def merge_away(session: AsyncSession, ids: Collection[int], why: str) -> None:
    """Rows merged away by a digest (a leaderboard superseded by a newer one): never sent."""
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(list(ids))).values(status=OutboxStatus.DROPPED, last_error=why)
    )

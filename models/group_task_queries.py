"""The named queries of posts that wait on people: group posts proposed to a staff member
(followed until the transport reports them sent, or they expire) and private messages held
until the person writes again (see ``OutboxStatus``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import BrandGroup
from models.messaging import OutboxMessage
from models.statuses import OutboxStatus


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


async def brand_of_room(session: AsyncSession, room: str) -> str | None:
    """The brand whose group ``room`` is (None: no brand's, a co-learning group say)."""
    return await session.scalar(select(BrandGroup.brand_id).where(BrandGroup.room_id == room))


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

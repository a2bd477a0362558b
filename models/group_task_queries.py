"""The named queries of posts that wait on people: group posts proposed to a staff member
(followed until the transport reports them sent, or they expire) and private messages held
until the person writes again (see ``OutboxStatus``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

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


async def settle_task(session: AsyncSession, task_id: str, status: OutboxStatus, **values: object) -> int:
    """Every row of one proposed task (coalesced rows share it) to ``status``."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.task_id == task_id, OutboxMessage.status == OutboxStatus.PROPOSED)
        .values(status=status, **values)
    )
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


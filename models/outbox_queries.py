"""The outbox sender's statements (bot.runtime.sender), one function each. Nothing here commits.

A sender drains the rows of one helper account. Each send is: read the rows that may go now
(:func:`due_rows`; when every room among them waits its turn, :func:`next_due_dm`), gather the
lines that go out with the first one (:func:`coalescible_lines`), :func:`claim` them
(committed before the transport is called), read them back (:func:`claimed_rows`), and
:func:`settle` them with what the transport answered. At start, and after a database outage,
:func:`recover_in_flight` queues again what a stopped sender had claimed.

Cost: every read here is over *queued* rows of one account. The partial index
``ix_outbox_account_priority_target_is_room_id`` (``WHERE status = 'queued'``, models.messaging)
keeps the sent history — most of the table — out of the way; :func:`due_rows` and
:func:`next_due_dm` follow its order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.base import rowcount
from models.messaging import ROOM_KINDS, OutboxMessage
from models.statuses import OutboxStatus

QUEUED = OutboxStatus.QUEUED


def _due(account: str, now: datetime) -> list[ColumnElement[bool]]:
    """Rows of ``account`` that may go at ``now``: queued, due, and not behind an earlier queued
    row for the same target that waits out a retry (``not_before`` later than now) — a target's
    messages keep their order: a relay line waiting for a retry holds back the red packet that
    came after it."""
    earlier = aliased(OutboxMessage)
    waiting = (
        select(earlier.id)
        .where(
            earlier.account == OutboxMessage.account,
            earlier.target == OutboxMessage.target,
            earlier.status == QUEUED,
            earlier.id < OutboxMessage.id,
            earlier.not_before > now,
        )
        .exists()
    )
    return [
        OutboxMessage.account == account,
        OutboxMessage.status == QUEUED,
        OutboxMessage.not_before <= now,
        ~waiting,
    ]


async def due_rows(session: AsyncSession, account: str, now: datetime, limit: int = 200) -> list[OutboxMessage]:
    """The first ``limit`` rows of ``account`` that may go at ``now`` (see :func:`_due`), in the
    order they should go: by priority (bot.base.priorities: relay lines before "you earned"
    before menus), then group posts before DMs of the same priority — a push's relay must not
    wait behind every payee's "you earned" DM — then oldest first.

    The sender takes the first whose room is not waiting its turn; ``limit`` bounds what it
    reads when many rooms are."""
    return list(
        await session.scalars(
            select(OutboxMessage)
            .where(*_due(account, now))
            .order_by(OutboxMessage.priority, OutboxMessage.target_is_room.desc(), OutboxMessage.id)
            .limit(limit)
        )
    )


async def next_due_dm(session: AsyncSession, account: str, now: datetime) -> OutboxMessage | None:
    """The first row of ``account`` that may go at ``now`` and is paced by no room: a DM (not a
    room post, nor a room add or invitation, which count against their room), by priority then
    age. Asked when every room among :func:`due_rows` is waiting its turn, so a DM further back
    goes meanwhile instead of the sender sitting idle."""
    return await session.scalar(
        select(OutboxMessage)
        .where(
            *_due(account, now),
            OutboxMessage.target_is_room.is_(False),
            OutboxMessage.kind.not_in(ROOM_KINDS),
        )
        .order_by(OutboxMessage.priority, OutboxMessage.id)
        .limit(1)
    )


async def coalescible_lines(
    session: AsyncSession, first: OutboxMessage, now: datetime, limit: int
) -> list[OutboxMessage]:
    """The rows that may go out in one message with ``first`` (which has a coalesce key): due
    rows of the same account, target and coalesce key queued after it, oldest first, at most
    ``limit`` — but only those queued before the target's next *other* queued message (a red
    packet queued after line 3 stays after line 3: line 4 must not jump over it into this
    message). Looked up directly, not among :func:`due_rows`: the lines may lie beyond them."""
    other = aliased(OutboxMessage)
    barrier = (
        select(func.min(other.id))
        .where(
            other.account == first.account,
            other.target == first.target,
            other.status == QUEUED,
            other.id > first.id,
            or_(other.coalesce_key.is_(None), other.coalesce_key != first.coalesce_key),
        )
        .scalar_subquery()
    )
    return list(
        await session.scalars(
            select(OutboxMessage)
            .where(
                *_due(first.account, now),
                OutboxMessage.coalesce_key == first.coalesce_key,
                OutboxMessage.target == first.target,
                OutboxMessage.id > first.id,
                or_(barrier.is_(None), OutboxMessage.id < barrier),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


async def claim(session: AsyncSession, ids: Sequence[int]) -> int:
    """Mark the rows ``ids`` that are still queued as ``sending`` and count the attempt; returns
    how many it marked. Fewer than ``len(ids)`` means another sender of the account took some:
    the caller rolls back and reads again. Committed before the transport is called, so a
    crash after it leaves the rows ``sending`` for :func:`recover_in_flight`."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == QUEUED)
        .values(status=OutboxStatus.SENDING, attempts=OutboxMessage.attempts + 1)
    )
    return rowcount(result)


async def claimed_rows(session: AsyncSession, ids: Sequence[int]) -> list[OutboxMessage]:
    """The rows ``ids`` as they are now, oldest first: what was claimed is sent as it reads
    after the claim (a welcome may have gained the names of people who joined meanwhile)."""
    return list(
        await session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id))
    )


async def settle(session: AsyncSession, ids: Sequence[int], status: OutboxStatus, **values: Any) -> None:
    """What a send did to the claimed rows ``ids``: ``sent`` (with ``sent_at``), ``queued``
    again for a retry (with its ``not_before``), ``uncertain`` or ``dead`` (with ``last_error``)."""
    await session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(status=status, **values))


async def unclaim(session: AsyncSession, ids: Sequence[int]) -> None:
    """Put the claimed rows ``ids`` back in the queue as they were before :func:`claim`: the
    transport took nothing (it was not connected), so the attempt does not count."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(status=QUEUED, attempts=OutboxMessage.attempts - 1)
    )


async def recover_in_flight(session: AsyncSession, account: str) -> int:
    """Queue again the rows of ``account`` left ``sending`` — claimed by a sender that stopped
    (a crash, a kill, a database outage) before it could record the outcome; returns how many.
    At most that one message goes out twice."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.account == account, OutboxMessage.status == OutboxStatus.SENDING)
        .values(status=QUEUED)
    )
    return rowcount(result)

"""The outbox sender's statements (bot.runtime.sender), one function each. Nothing here commits.

A sender drains the rows of one helper account. Each send is: pick the row to send next
(:func:`next_due`, leaving out the rooms waiting their turn), gather the lines that go out with
it (:func:`coalescible_lines`), :func:`claim` them (committed before the transport is called),
read them back in full (:func:`claimed_rows`), and :func:`settle` them with what the transport
answered. At start, and after a database outage, :func:`recover_in_flight` queues again what a
stopped sender had claimed. A periodic job deletes the sent history past its retention
(:func:`prune_sent`).

Cost: every read here is over *queued* rows of one account, through partial indexes
(``WHERE status = 'queued'``, models.messaging) that keep the sent history — most of the table
— out of the way: ``ix_outbox_queued_next`` has :func:`next_due`'s order, ``ix_outbox_queued_target``
serves the per-target look-ups. The picks read only the columns the choice needs. ``bench/sender.py``
measures them at 100k queued and 1M sent rows on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, delete, func, or_, select, update
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


@dataclass(frozen=True)
class Due:
    """What the sender needs to choose a row: not its text nor its payload (an image's bytes),
    which it reads only for the rows it claims (:func:`claimed_rows`). ``room`` is the room
    whose pace the row counts against ("" for a DM)."""

    id: int
    kind: str
    target: str
    target_is_room: bool
    coalesce_key: str | None
    room: str


def _paced_room() -> ColumnElement[str]:
    """The room a row's send counts against: the target of a room post, the payload's room of a
    room add or invitation, "" for a DM."""
    return case(
        (OutboxMessage.kind.in_(ROOM_KINDS), func.coalesce(OutboxMessage.payload["room"].as_string(), "")),
        (OutboxMessage.target_is_room, OutboxMessage.target),
        else_="",
    )


def next_due_query(
    account: str, now: datetime, busy: Collection[str] = ()
) -> Select[int, str, str, bool, str | None, str]:
    """The statement of :func:`next_due` (``bench/sender.py`` EXPLAINs it)."""
    room = _paced_room()
    conditions = _due(account, now)
    if busy:
        conditions.append(room.not_in(list(busy)))
    return (
        select(
            OutboxMessage.id,
            OutboxMessage.kind,
            OutboxMessage.target,
            OutboxMessage.target_is_room,
            OutboxMessage.coalesce_key,
            room,
        )
        .where(*conditions)
        .order_by(OutboxMessage.priority, OutboxMessage.target_is_room.desc(), OutboxMessage.id)
        .limit(1)
    )


async def next_due(session: AsyncSession, account: str, now: datetime, busy: Collection[str] = ()) -> Due | None:
    """The row of ``account`` to send next at ``now`` (see :func:`_due`), skipping rows whose
    room is in ``busy`` (waiting its turn: its pace since its last message): by priority
    (bot.base.priorities: relay lines before "you earned" before menus), then group posts before
    DMs of the same priority — a push's relay must not wait behind every payee's "you earned"
    DM — then oldest first.

    Rooms waiting their turn are left out by the query itself, so another room's row (or a DM)
    goes meanwhile however many rows the waiting rooms hold: a room never waits behind other
    rooms' rows that are waiting their turn. The partial index ``ix_outbox_queued_next`` has
    this order, so the database walks it and stops at the first row that qualifies."""
    row = (await session.execute(next_due_query(account, now, busy))).first()
    return None if row is None else Due(*row)


def coalescible_lines_query(account: str, first: Due, now: datetime, limit: int) -> Select[int]:
    """The statement of :func:`coalescible_lines`."""
    return select(OutboxMessage.id).where(*_coalescible(account, first, now)).order_by(OutboxMessage.id).limit(limit)


def _coalescible(account: str, first: Due, now: datetime, *, with_first: bool = False) -> list[ColumnElement[bool]]:
    other = aliased(OutboxMessage)
    barrier = (
        select(func.min(other.id))
        .where(
            other.account == account,
            other.target == first.target,
            other.status == QUEUED,
            other.id > first.id,
            or_(other.coalesce_key.is_(None), other.coalesce_key != first.coalesce_key),
        )
        .scalar_subquery()
    )
    return [
        *_due(account, now),
        OutboxMessage.coalesce_key == first.coalesce_key,
        OutboxMessage.target == first.target,
        OutboxMessage.id >= first.id if with_first else OutboxMessage.id > first.id,
        or_(barrier.is_(None), OutboxMessage.id < barrier),
    ]


async def coalescible_lines(session: AsyncSession, account: str, first: Due, now: datetime, limit: int) -> list[int]:
    """The rows that may go out in one message with ``first`` (which has a coalesce key): due
    rows of the same account, target and coalesce key queued after it, oldest first, at most
    ``limit`` (their ids) — but only those queued before the target's next *other* queued message (a red
    packet queued after line 3 stays after line 3: line 4 must not jump over it into this
    message)."""
    return list(await session.scalars(coalescible_lines_query(account, first, now, limit)))


async def pending_lines(
    session: AsyncSession, account: str, first: Due, now: datetime, limit: int
) -> list[tuple[int, datetime, dict[str, Any]]]:
    """``first`` and the lines that may go out with it (as :func:`coalescible_lines`), at most
    ``limit`` in all, oldest first: (id, queued at, the line's data — ``payload["line"]``, {} for
    a row queued without it). For the relay digest (core.relay_digest), which needs who sold
    what in every line waiting, not only in the first ``coalesce_max_lines``."""
    rows = await session.execute(
        select(OutboxMessage.id, OutboxMessage.created_at, OutboxMessage.payload)
        .where(*_coalescible(account, first, now, with_first=True))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return [(id_, at, dict((payload or {}).get("line") or {})) for id_, at, payload in rows]


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


async def prune_sent(session: AsyncSession, before: datetime, batch: int) -> int:
    """Delete at most ``batch`` rows sent before ``before`` (the oldest first); returns how many.
    The caller commits each batch, so a large backlog never holds one long transaction.
    Only ``sent`` rows go: dead, uncertain and dropped rows stay for ops."""
    oldest = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.SENT, OutboxMessage.sent_at < before)
        .order_by(OutboxMessage.sent_at)
        .limit(batch)
    )
    result = await session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.id.in_(oldest.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)

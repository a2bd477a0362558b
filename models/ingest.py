"""Queries of the order pipeline, each one statement where one will do: a paid order's
transaction is a dozen statements, and each costs a round trip."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import Course, RedPacket, RelayPush
from models.orders import Order, OrderEvent
from models.people import Buyer, Distributor
from models.statuses import RedPacketReason
from models.upsert import insert_or_ignore, upsert


async def record_event(session: AsyncSession, **values: Any) -> bool:
    """Insert the event row unless its id is known: False means it is a replay. A concurrent
    delivery of the same id waits for the first to commit, then finds it (PostgreSQL)."""
    statement = insert_or_ignore(session, OrderEvent, values, on=["event_id"]).returning(OrderEvent.event_id)
    return (await session.execute(statement)).first() is not None


async def take_stock(session: AsyncSession, sku: str, quantity: int) -> tuple[int | None, int, list[int]] | None:
    """Take ``quantity`` in one UPDATE that can never go below zero, even under concurrent
    orders (the row lock serialises them on PostgreSQL). Unlimited stock (NULL) stays NULL.
    Returns (stock left or None, stock epoch, thresholds), or None when there is not enough."""
    row = (
        await session.execute(
            update(Course)
            .where(Course.sku == sku, or_(Course.stock.is_(None), Course.stock >= quantity))
            .values(stock=Course.stock - quantity)
            .returning(Course.stock, Course.stock_epoch, Course.red_packet_thresholds)
        )
    ).first()
    return None if row is None else (row[0], row[1], list(row[2] or []))


async def stock_of(session: AsyncSession, sku: str) -> int | None:
    return await session.scalar(select(Course.stock).where(Course.sku == sku))


async def add_buyer_purchase(
    session: AsyncSession, *, buyer_id: str, name: str, phone: str | None, amount: Decimal, now: datetime
) -> Decimal:
    """Create the buyer if new, add ``amount`` to their purchases; returns the new total."""
    statement = upsert(
        session,
        Buyer,
        {"id": buyer_id, "name": name, "phone": phone, "first_seen_at": now, "self_purchase_total": amount},
        on=["id"],
        set_=lambda excluded: {"self_purchase_total": Buyer.self_purchase_total + excluded.self_purchase_total},
    ).returning(Buyer.self_purchase_total)
    total = await session.scalar(statement)  # a Money column: already Decimal yuan
    assert isinstance(total, Decimal)
    return total


async def distributors_for_order(
    session: AsyncSession, buyer_id: str, ref_code: str | None
) -> tuple[Distributor | None, Distributor | None]:
    """(the buyer's own distributor account, the owner of the ref code) in one query."""
    condition = Distributor.buyer_id == buyer_id
    if ref_code:
        condition = or_(condition, Distributor.code == ref_code)
    rows = (await session.scalars(select(Distributor).where(condition))).all()
    own = next((d for d in rows if d.buyer_id == buyer_id), None)
    ref = next((d for d in rows if ref_code and d.code == ref_code), None)
    return own, ref


async def distributors_of(
    session: AsyncSession, buyer_ids: Collection[str], ref_codes: Collection[str]
) -> Sequence[Distributor]:
    """The distributor accounts of ``buyer_ids`` and the owners of ``ref_codes``, in one query
    (what a batch of paid orders needs, read once)."""
    conditions = []
    if buyer_ids:
        conditions.append(Distributor.buyer_id.in_(sorted(buyer_ids)))
    if ref_codes:
        conditions.append(Distributor.code.in_(sorted(ref_codes)))
    if not conditions:
        return ()
    return (await session.scalars(select(Distributor).where(or_(*conditions)))).all()


async def distributors_by_id(session: AsyncSession, ids: Collection[int]) -> Sequence[Distributor]:
    return (await session.scalars(select(Distributor).where(Distributor.id.in_(sorted(ids))))).all()


async def earlier_purchases(session: AsyncSession, buyer_id: str, sku: str, brand_id: str) -> tuple[bool, bool]:
    """(bought this course before, bought from this brand before)."""
    row = (
        await session.execute(
            select(
                func.coalesce(func.max(case((Order.course_sku == sku, 1), else_=0)), 0),
                func.count(Order.id),
            ).where(Order.buyer_id == buyer_id, Order.brand_id == brand_id)
        )
    ).one()
    return bool(row[0]), bool(row[1])


async def next_relay_line(session: AsyncSession, brand_id: str) -> tuple[int, int] | None:
    """(push id, line number) for the brand's open relay push, counting this line; None when
    no push is open."""
    row = (
        await session.execute(
            update(RelayPush)
            .where(RelayPush.brand_id == brand_id, RelayPush.ended_at.is_(None))
            .values(line_count=RelayPush.line_count + 1)
            .returning(RelayPush.id, RelayPush.line_count)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def record_thresholds(
    session: AsyncSession, *, brand_id: str, sku: str, epoch: int, thresholds: list[int], now: datetime
) -> set[int]:
    """Record a red packet owed for each threshold of ``sku``'s stock epoch reached, in one
    INSERT; returns the thresholds recorded now. One reached before in the same epoch is left
    as it is: a refund may have put the stock back above it, and reaching it again owes nothing
    more."""
    rows = [
        {
            "brand_id": brand_id,
            "reason": RedPacketReason.THRESHOLD,
            "course_sku": sku,
            "stock_epoch": epoch,
            "threshold": threshold,
            "created_at": now,
        }
        for threshold in thresholds
    ]
    statement = insert_or_ignore(session, RedPacket, rows, on=["course_sku", "stock_epoch", "threshold"])
    return set(await session.scalars(statement.returning(RedPacket.threshold)))

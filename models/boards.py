"""The leaderboards and what a relay push posted, as queries over a session (services.reports
builds the reports from them). Nothing here commits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import money_sum
from models.catalog import Course, RelayLine, RelayPush
from models.orders import Order
from models.people import Distributor
from models.queries import open_push

LEADERBOARD_METRICS = ("amount", "orders", "new_customers")


def _board_value(metric: str, amount: Any) -> Any:
    """What a leaderboard ranks by, over orders joined in the query: ``amount`` (paid net of
    refunds, Decimal yuan), ``orders`` or ``new_customers`` (counts)."""
    if metric == "amount":
        return money_sum(amount - Order.refunded)
    if metric == "orders":
        return func.count(Order.id)
    if metric == "new_customers":
        return func.coalesce(func.sum(case((Order.new_customer.is_(True), 1), else_=0)), 0)
    raise ValueError(f"unknown leaderboard metric {metric!r}")


async def brand_leaderboard(
    session: AsyncSession,
    brand_id: str,
    metric: str,
    since: datetime | None,
    until: datetime | None,
    limit: int | None,
) -> list[tuple[str, Decimal | int]]:
    """(seller name, value) of the brand's attributed orders paid in [since, until], best
    first (ties by seller id), sellers whose value is zero left out. ``amount`` is what was
    paid net of refunds (Decimal yuan); ``orders`` and ``new_customers`` are counts."""
    value = _board_value(metric, Order.amount)
    query = (
        select(Distributor.name, value)
        .join(Distributor, Distributor.id == Order.seller_id)
        .where(Order.brand_id == brand_id, Order.seller_id.is_not(None))
        .group_by(Distributor.id, Distributor.name)
        .having(value > 0)
        .order_by(value.desc(), Distributor.id)
        .limit(limit)
    )
    if since is not None:
        query = query.where(Order.paid_at >= since)
    if until is not None:
        query = query.where(Order.paid_at <= until)
    rows = await session.execute(query)
    return [(name, amount if metric == "amount" else int(amount)) for name, amount in rows]


async def latest_push(session: AsyncSession, brand_id: str) -> RelayPush | None:
    """The brand's open relay push, else its most recently started one."""
    return await open_push(session, brand_id) or await session.scalar(
        select(RelayPush).where(RelayPush.brand_id == brand_id).order_by(RelayPush.started_at.desc()).limit(1)
    )


async def push_lines(session: AsyncSession, push_id: int) -> list[tuple[int, str, str, int, bool]]:
    """(line number, seller name, course name, quantity, fully refunded) of every line a relay
    push posted, numbered and ordered as posted."""
    rows = await session.execute(
        select(RelayLine.number, Distributor.name, Course.name, RelayLine.quantity, Order.refunded >= Order.amount)
        .join(Order, Order.id == RelayLine.order_id)
        .join(Distributor, Distributor.id == RelayLine.seller_id)
        .join(Course, Course.sku == Order.course_sku)
        .where(RelayLine.push_id == push_id)
        .order_by(RelayLine.number)
    )
    return [(n, seller, course, quantity, bool(refunded)) for n, seller, course, quantity, refunded in rows]


async def push_leaderboard(
    session: AsyncSession, push_id: int, metric: str, limit: int | None
) -> list[tuple[str, Decimal | int]]:
    """(seller name, value) over the lines a relay push posted — the same orders, whatever
    their payment times say — best first, ties by who was relayed first; values as in
    :func:`brand_leaderboard` (the amount relayed, net of later refunds)."""
    value = _board_value(metric, RelayLine.amount)
    rows = await session.execute(
        select(Distributor.name, value)
        .select_from(RelayLine)
        .join(Order, Order.id == RelayLine.order_id)
        .join(Distributor, Distributor.id == RelayLine.seller_id)
        .where(RelayLine.push_id == push_id)
        .group_by(Distributor.id, Distributor.name)
        .having(value > 0)
        .order_by(value.desc(), func.min(RelayLine.number))
        .limit(limit)
    )
    return [(name, amount if metric == "amount" else int(amount)) for name, amount in rows]

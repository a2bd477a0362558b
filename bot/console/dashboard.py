"""The overview's figures: the last 14 days by the platform's calendar (orders and revenue per
day and brand, new distributors per day) and the outbox's health.

Days are the platform's local days: each order falls in the day whose local midnight it
follows, counted by the database in one query (a CASE over the 15 midnights, so it is exact
in any time zone, on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import money_sum
from models.messaging import OutboxMessage
from models.orders import Order
from models.people import Distributor
from models.statuses import OutboxStatus

DAYS = 14
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Window:
    """``days`` local days, oldest first, ending today; ``bounds`` their midnights in UTC
    and the next one (one more than the days)."""

    days: tuple[date, ...]
    bounds: tuple[datetime, ...]

    @classmethod
    def ending(cls, now: datetime, zone: ZoneInfo, days: int = DAYS) -> Window:
        today = now.astimezone(zone).date()
        dates = tuple(today - timedelta(days=days - 1 - i) for i in range(days + 1))
        bounds = tuple(datetime.combine(d, time(0), tzinfo=zone).astimezone(UTC) for d in dates)
        return cls(dates[:-1], bounds)


@dataclass
class BrandDays:
    brand_id: str
    name: str
    orders: list[int] = field(default_factory=list)
    revenue: list[Decimal] = field(default_factory=list)

    @property
    def total_orders(self) -> int:
        return sum(self.orders)

    @property
    def total_revenue(self) -> Decimal:
        return sum(self.revenue, ZERO)


def _day(column: Any, window: Window) -> Any:
    """The index of the local day a timestamp falls in (the rows are already inside the window)."""
    return case(*((column < bound, i) for i, bound in enumerate(window.bounds[1:-1])), else_=len(window.days) - 1)


async def orders_by_day(
    session: AsyncSession, window: Window, brands: Sequence[tuple[str, str]]
) -> list[BrandDays]:
    """Paid orders and their amounts per day, for each of ``brands`` ((id, name), in order)."""
    result = {brand_id: BrandDays(brand_id, name, [0] * len(window.days), [ZERO] * len(window.days))
              for brand_id, name in brands}  # fmt: skip
    if not result:
        return []
    inner = (
        select(_day(Order.paid_at, window).label("day"), Order.brand_id, Order.amount)
        .where(Order.paid_at >= window.bounds[0], Order.paid_at < window.bounds[-1], Order.brand_id.in_(result))
        .subquery()
    )
    rows = await session.execute(
        select(inner.c.day, inner.c.brand_id, func.count(), money_sum(inner.c.amount)).group_by(
            inner.c.day, inner.c.brand_id
        )
    )
    for day, brand_id, count, revenue in rows:
        result[brand_id].orders[day] = int(count)
        result[brand_id].revenue[day] = revenue
    return list(result.values())


async def newcomers_by_day(session: AsyncSession, window: Window) -> list[int]:
    inner = (
        select(_day(Distributor.joined_at, window).label("day"))
        .where(Distributor.joined_at >= window.bounds[0], Distributor.joined_at < window.bounds[-1])
        .subquery()
    )
    counts = [0] * len(window.days)
    for day, count in await session.execute(select(inner.c.day, func.count()).group_by(inner.c.day)):
        counts[day] = int(count)
    return counts


@dataclass(frozen=True)
class OutboxHealth:
    queued: int
    sending: int
    dead: int
    oldest_queued_at: datetime | None
    waiting_minutes: int  # how long the oldest queued message has waited

    @property
    def state(self) -> str:
        """ok, slow (something has waited over 15 minutes) or failing (dead letters)."""
        if self.dead:
            return "failing"
        return "slow" if self.waiting_minutes > 15 else "ok"


async def outbox_health(session: AsyncSession, now: datetime) -> OutboxHealth:
    counts = dict(
        (await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))).all()
    )
    queued = OutboxMessage.status == OutboxStatus.QUEUED
    oldest = await session.scalar(select(func.min(OutboxMessage.created_at)).where(queued))
    waited = max(0, int((now - oldest).total_seconds() // 60)) if oldest is not None else 0
    return OutboxHealth(
        int(counts.get(OutboxStatus.QUEUED, 0)),
        int(counts.get(OutboxStatus.SENDING, 0)),
        int(counts.get(OutboxStatus.DEAD, 0)),
        oldest,
        waited,
    )

"""Setting a course's stock (库存): by the course manager in the brand group, on the console or
through the API — one use case, recorded once in the audit log with the stock before and after.

A new stock epoch starts with every setting, so each red-packet threshold can fire again."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from bot.base.context import Context
from models import queries as q
from models.catalog import Course
from services import audit
from services.errors import Invalid, NotFound


@dataclass(frozen=True)
class StockSet:
    sku: str
    name: str
    brand_id: str
    before: int | None
    stock: int | None  # None: unlimited
    epoch: int
    thresholds: list[int]


async def set_stock(ctx: Context, brand_id: str, sku: str, stock: int | None) -> StockSet:
    """Set ``sku`` (a course of ``brand_id``) to ``stock`` units (None: unlimited). NotFound for
    a course the brand does not have; Invalid for a negative stock."""
    if stock is not None and stock < 0:
        raise Invalid(["stock: must be 0 or more"])
    course = await ctx.session.scalar(
        select(Course).where(Course.sku == sku, Course.brand_id == brand_id).with_for_update()
    )
    if course is None:
        raise NotFound(f"the brand has no course {sku!r}")
    before = course.stock
    epoch, thresholds = await q.set_stock(ctx.session, course.sku, stock)
    audit.record(
        ctx,
        "stock",
        "stock.set",
        subject=course.sku,
        brand_id=brand_id,
        before={"stock": before},
        after={"stock": stock},
    )
    return StockSet(course.sku, course.name, brand_id, before, stock, epoch, thresholds)

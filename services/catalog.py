"""Bringing config.yaml's brands, groups and courses into the database at start.

Names, prices, pools and thresholds follow the file; stock is only set when a course is new
(afterwards it is the database's, moved by orders and by the course manager)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.config import Settings
from models.catalog import Brand, BrandGroup, Course
from models.people import Distributor


async def sync_catalog(session: AsyncSession, settings: Settings) -> None:
    for brand in settings.raw.brands:
        row = await session.get(Brand, brand.id)
        if row is None:
            session.add(Brand(id=brand.id, name=brand.name))
        else:
            row.name = brand.name
        for position, group in enumerate(brand.groups):
            grow = await session.get(BrandGroup, group.room_id)
            if grow is None:
                grow = BrandGroup(room_id=group.room_id, brand_id=brand.id, member_count=0)
                session.add(grow)
            grow.brand_id, grow.name, grow.capacity = brand.id, group.name, group.capacity
            grow.position, grow.account = position, group.account
        await session.flush()
        for course in brand.courses:
            crow = await session.get(Course, course.sku)
            if crow is None:
                crow = Course(sku=course.sku, stock=course.stock, stock_epoch=0)
                session.add(crow)
            crow.brand_id, crow.name, crow.kind = brand.id, course.name, course.type.value
            crow.price, crow.pool, crow.margin, crow.bounty = course.price, course.pool, course.margin, course.bounty
            crow.bound_to = course.bound_to
            crow.red_packet_thresholds = list(course.red_packet_thresholds)
    await session.flush()


async def seed_demo(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Create the demo distributors when there are no distributors at all."""
    if not settings.raw.demo.distributors or await session.scalar(select(func.count(Distributor.id))):
        return 0
    by_code: dict[str, Distributor] = {}
    for person in settings.raw.demo.distributors:  # recruiters come before their recruits
        row = Distributor(
            code=person.code,
            name=person.name,
            level=person.level,
            contact_id=person.contact_id,
            buyer_id=person.buyer_id,
            recruiter_id=by_code[person.recruiter].id if person.recruiter else None,
            entry_path="demo",
            joined_at=now,
            level_since=now,
        )
        session.add(row)
        await session.flush()
        by_code[person.code] = row
    return len(by_code)

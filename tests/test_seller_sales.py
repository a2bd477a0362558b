"""The sellers' running totals (models.sales) under concurrency: one buyer counted once."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import select

from models import Distributor
from models.sales import sales_of
from services.order_events import OrderEventIn
from services.orders import process_event
from tests.support import order_event, running_services
from tests.test_batched_orders_equal_one_by_one import NO_UPGRADES, sellers_totals_are_their_orders_sums


async def test_a_new_buyer_paying_twice_at_the_same_moment_is_one_more_customer_of_the_seller(databases, dialect):
    async with running_services(databases, dialect, NO_UPGRADES) as env:
        async with env.db.reading() as session:
            seller = await session.scalar(select(Distributor.id).where(Distributor.code == "DEMOC001"))
            before = (await sales_of(session, [seller])).get(seller, (Decimal("0.00"), 0, Decimal("0.00")))
        events = [
            OrderEventIn.model_validate(
                order_event(f"o-{sku}", buyer="b-new", sku=sku, amount="199.00", ref="DEMOC001")
            )
            for sku in ("XH-MATH-S1", "KX-BOX")
        ]
        # Each in its own transaction, at once: on PostgreSQL they really overlap.
        await asyncio.gather(*(process_event(env, e) for e in events))

        async with env.db.reading() as session:
            after = (await sales_of(session, [seller]))[seller]
        await sellers_totals_are_their_orders_sums(env)
    assert after == (before[0] + Decimal("398.00"), before[1] + 1, before[2])

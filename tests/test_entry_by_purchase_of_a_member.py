"""Entry by purchase enrols buyers who are nobody's member yet: a suspended distributor who buys
(their own account does not sell, so the order runs as a buyer's) is not enrolled a second
time, and their order is recorded like any other — alone or in a batch run as sets."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, update

from bot.base.env import Env
from models import Distributor, Order
from models.statuses import DistributorStatus
from services.order_batch import OrderBatcher
from services.order_events import OrderEventIn
from services.orders import process_event
from tests.support import Databases, order_event, running_services
from tests.test_whatif_equals_ledger import SETTINGS  # entry by purchase from 700.00


async def suspend_lina(env: Env) -> None:
    async with env.db.unit_of_work() as session:
        await session.execute(
            update(Distributor).where(Distributor.code == "DEMOC001").values(status=DistributorStatus.SUSPENDED)
        )


async def lina_after(env: Env) -> tuple[int, list[tuple[str, DistributorStatus]]]:
    async with env.db.reading() as session:
        orders = await session.scalar(select(func.count()).select_from(Order).where(Order.buyer_id == "buyer-lina"))
        accounts = await session.execute(
            select(Distributor.code, Distributor.status).where(Distributor.buyer_id == "buyer-lina")
        )
    return int(orders or 0), [(code, status) for code, status in accounts]


async def test_a_suspended_distributor_buying_past_the_entry_threshold_has_the_order_recorded(
    databases: Databases, dialect: str
) -> None:
    async with running_services(databases, dialect, SETTINGS) as env:
        await suspend_lina(env)
        event = OrderEventIn.model_validate(order_event("o-1", buyer="buyer-lina", amount="799.00"))

        accepted = await process_event(env, event)

        assert accepted.order_id == "o-1"
        assert await lina_after(env) == (1, [("DEMOC001", DistributorStatus.SUSPENDED)])


async def test_the_same_orders_in_a_batch_run_as_sets_are_recorded_too(databases: Databases, dialect: str) -> None:
    async with running_services(databases, dialect, SETTINGS) as env:
        await suspend_lina(env)
        batcher = OrderBatcher(env, batch_max=8, window_seconds=0.01)
        events = [
            OrderEventIn.model_validate(order_event(f"o-{n}", buyer="buyer-lina", amount="799.00")) for n in (1, 2)
        ]

        answers = await asyncio.gather(*(batcher.submit(e) for e in events))  # delivered together

        assert [a.order_id for a in answers] == ["o-1", "o-2"]
        assert await lina_after(env) == (2, [("DEMOC001", DistributorStatus.SUSPENDED)])
        assert (batcher.sets, batcher.batches, batcher.replayed) == (1, 0, 0)

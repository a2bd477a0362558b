"""A batch of paid orders run as sets (services.order_sets) and an order run statement by
statement (services.order_store), in two transactions at once during a relay push, take the
rows they share in the same order — the push's line count, then the course's stock — so
neither waits on the other in a cycle: PostgreSQL never aborts one as a deadlock, and the
webhook call answered statement by statement is accepted, not a server error."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text

from bot.base.env import Env
from models import Order
from models.catalog import RelayLine, RelayPush
from services.order_events import OrderEventIn
from services.order_sets import BatchOrders
from services.orders import Accepted, event_of, handle_order_event, process_event
from tests.support import PG_URL, START, Databases, order_event, running_services

pytestmark = pytest.mark.skipif(not PG_URL, reason="row locks are PostgreSQL's")


async def blocked_on_a_lock(env: Env) -> bool:
    async with env.db.reading() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


async def test_a_set_batch_and_a_statement_order_during_a_push_both_commit_with_their_relay_lines(
    databases: Databases,
) -> None:
    async with running_services(databases, "postgresql") as env:
        async with env.db.unit_of_work() as session:
            session.add(RelayPush(brand_id="xinghuo", title="双十二", started_at=START, started_by="mgr-zhaolin"))
        in_batch = OrderEventIn.model_validate(order_event("o-1", ref="DEMOC001"))
        alone = OrderEventIn.model_validate(order_event("o-2", ref="DEMOC002", buyer="buyer-2"))
        other: asyncio.Task[Accepted] | None = None
        async with env.context() as ctx:
            port = BatchOrders(ctx, "webhook", {in_batch.event_id: in_batch})
            await port.start([event_of(in_batch)])
            await handle_order_event(ctx, in_batch, "webhook", port)  # its relay line is counted
            other = asyncio.create_task(process_event(env, alone))
            while not await blocked_on_a_lock(env) and not other.done():
                await asyncio.sleep(0.02)
            await port.write()
        answer = await other
        async with env.db.reading() as session:
            orders = await session.scalar(select(func.count()).select_from(Order))
            lines = sorted((await session.execute(select(RelayLine.number, RelayLine.order_id))).all())
    assert answer.order_id == "o-2"
    assert orders == 2
    assert lines == [(1, "o-1"), (2, "o-2")]

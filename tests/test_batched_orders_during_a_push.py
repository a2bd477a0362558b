"""Paid orders delivered together during a relay push end as they do one by one: the batch runs
as sets (services.order_sets), and its relay lines (numbered in arrival order, the orders'
push), the groups' posts, red packets, entry by purchase, a sold-out box and replays are the
rows and answers of the same orders each in its own transaction."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from models import Base
from models.catalog import RelayPush
from services.errors import ServiceError
from services.order_batch import OrderBatcher
from services.order_events import OrderEventIn
from services.orders import Accepted, process_event
from tests.support import START, Databases, order_event, running_services
from tests.test_whatif_equals_ledger import SETTINGS  # entry by purchase; a box of 4 with a red packet at 2

TABLES = [
    "ledger_lines", "courses", "fan_locks", "outbox", "distributors", "orders", "buyers", "red_packets",
    "relay_lines", "relay_pushes", "audit_entries",
]
# Left out: generated ids, a new distributor's random code (and the audit subject naming it).
UNCOMPARED = ("id", "at", "created_at", "code", "subject")
CODE = re.compile(r"'(distributor|seller)': '\w+'")

ORDERS = [
    order_event("o-1", ref="DEMOC001"),
    order_event("o-2", buyer="buyer-2"),  # no seller: no relay line
    order_event("o-3", ref="DEMOC002", buyer="buyer-3", quantity=2, amount="798.00"),  # enters by purchase
    order_event("o-4", ref="DEMOC001", buyer="buyer-4", sku="KX-BOX", amount="199.00"),
    order_event("o-5", ref="DEMOC001", buyer="buyer-5", sku="KX-BOX", amount="199.00", quantity=3),  # red packet
    order_event("o-6", ref="DEMOC001", buyer="buyer-1", sku="XH-MATH-S1"),
    order_event("o-7", ref="DEMOC002", buyer="buyer-7", sku="KX-BOX", amount="199.00", quantity=2),  # sold out
    order_event("o-1", ref="DEMOC001"),  # the same event again
    order_event("o-1", ref="DEMOC001", event_id="other-1"),  # the same order, another event
    order_event("o-9", ref="DEMOC002", buyer="buyer-3"),  # a member now: a self-purchase
    order_event("o-11", ref="DEMOB001", buyer="buyer-11"),
]


def said(result: Accepted | BaseException) -> str:
    return CODE.sub("", repr(result.detail if isinstance(result, Accepted) else result))


async def run(databases: Databases, dialect: str, together: bool) -> tuple[list[str], dict[str, list[str]], int]:
    async with running_services(databases, dialect, SETTINGS) as env:
        async with env.db.unit_of_work() as session:
            session.add(RelayPush(brand_id="xinghuo", title="双十二", started_at=START, started_by="mgr-zhaolin"))
        env.clock.at = START + timedelta(minutes=5)  # type: ignore[attr-defined]
        events = [OrderEventIn.model_validate(body) for body in ORDERS]
        batcher = OrderBatcher(env, batch_max=16, window_seconds=0.01)
        results: list[Any] = []
        if together:
            results = await asyncio.gather(*(batcher.submit(e, "import") for e in events), return_exceptions=True)
        else:
            for event in events:
                try:
                    results.append(await process_event(env, event, "import"))
                except ServiceError as error:
                    results.append(error)
        found = {}
        async with env.db.reading() as session:
            for table in Base.metadata.sorted_tables:
                if table.name in TABLES:
                    columns = [c for c in table.columns if c.name not in UNCOMPARED]
                    found[table.name] = sorted(repr(tuple(r)) for r in await session.execute(select(*columns)))
        return [said(r) for r in results], found, batcher.sets


def test_paid_orders_delivered_together_during_a_push_write_the_relay_lines_of_one_by_one(
    databases: Databases, dialect: str
) -> None:
    together, together_rows, sets = asyncio.run(run(databases, dialect, together=True))
    alone, alone_rows, _ = asyncio.run(run(databases, dialect, together=False))

    assert sets == 1  # one batch, run as sets
    assert together == alone
    for table in TABLES:
        assert together_rows[table] == alone_rows[table], table
    assert len(together_rows["relay_lines"]) == 5  # the xinghuo orders with a seller

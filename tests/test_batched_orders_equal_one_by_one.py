"""Orders batched into one transaction end exactly as they would one by one.

The same generated streams (paid orders through codes, locks and self-purchases; refunds
partial, repeated and too large; replayed deliveries; a box that sells out; several courses at
once) go through :class:`services.order_batch.OrderBatcher` in groups delivered together and,
on a second database, one event per transaction (:func:`services.orders.process_event`):
every answer, and every row the orders write — ledger, stock, fan locks, outbox, levels,
orders, buyers, red packets — is the same. Then real concurrency on the webhook: the stock is
never oversold and the ledger is what the same orders write one by one.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Integer, func, select, update

from bot.base.env import Env
from models import Base, Course, Distributor, LedgerLine, Order, OrderEvent
from models.base import money_sum
from models.sales import sales_of
from services.errors import ServiceError
from services.order_batch import OrderBatcher
from services.order_events import OrderEventIn
from services.order_sets import BatchOrders
from services.orders import Accepted, process_event
from tests.support import Databases, edited_settings, order_event, post_event, running_services, web_client
from tests.test_concurrency_and_replay import UPGRADES_BLOCK
from tests.test_whatif_equals_ledger import PHASES, QUICK, SETTINGS, Step, events_of, paid, streams

# Rows the order pipeline writes; audit entries and order events hold the time they were
# received, which is the batch's for all its events.
TABLES = [
    *("ledger_lines", "courses", "fan_locks", "outbox", "distributors", "orders", "buyers", "red_packets"),
    *("seller_sales", "seller_customers"),
]


def answer(result: Accepted | BaseException) -> tuple[Any, ...]:
    if isinstance(result, Accepted):
        return ("accepted", result.order_id, repr(sorted(result.detail.items())))
    if isinstance(result, ServiceError):
        return (type(result).__name__, result.code, str(result))
    raise result


async def rows(env: Env) -> dict[str, list[str]]:
    """The pipeline's tables, row by row, without their generated integer ids (a rolled-back
    batch may have used some on PostgreSQL)."""
    found = {}
    async with env.db.reading() as session:
        for table in Base.metadata.sorted_tables:
            if table.name not in TABLES:
                continue
            columns = [c for c in table.columns if not (c.primary_key and isinstance(c.type, Integer))]
            result = (await session.execute(select(*columns))).all()
            found[table.name] = sorted(repr(tuple(row)) for row in result)
    return found


async def each_event_keeps_its_payloads_fields(env: Env) -> None:
    """Beside its payload, each stored event holds the fields a what-if replay reads, equal
    to the payload's, whichever path wrote it."""
    e = OrderEvent
    async with env.db.reading() as session:
        stored = await session.execute(select(e.payload, e.course_sku, e.quantity, e.amount, e.buyer_id, e.ref))
        for payload, *fields in stored:
            buyer = payload["buyer"]["id"] if payload["buyer"] else None
            amount = Decimal(payload["amount"])
            assert fields == [payload["course_sku"], payload["quantity"], amount, buyer, payload["ref"]], payload


async def sellers_totals_are_their_orders_sums(env: Env) -> None:
    """The running totals the upgrade metrics read (models.sales) are what summing every
    order of each seller gives, whichever path wrote the orders."""
    o = Order
    async with env.db.reading() as session:
        summed: dict[int, list[Any]] = {}
        for seller, own, amount, buyers in await session.execute(
            select(o.seller_id, o.self_purchase, money_sum(o.amount - o.refunded), func.count(o.buyer_id.distinct()))
            .where(o.seller_id.is_not(None))
            .group_by(o.seller_id, o.self_purchase)
        ):
            totals = summed.setdefault(seller, [Decimal("0.00"), 0, Decimal("0.00")])
            if own:
                totals[2] = amount
            else:
                totals[0], totals[1] = amount, buyers
        kept = await sales_of(session, summed)
    assert {seller: tuple(t) for seller, t in summed.items()} == kept


def chunks(bodies: Sequence[dict[str, Any]], sizes: Sequence[int]) -> list[list[OrderEventIn]]:
    events = [OrderEventIn.model_validate(b) for b in bodies]
    groups, at = [], 0
    for size in [*sizes, len(events)]:
        if at >= len(events):
            break
        groups.append(events[at : at + size])
        at += size
    return groups


async def run(databases: Databases, dialect: str, groups: list[list[OrderEventIn]], batched: bool) -> tuple[Any, ...]:
    async with running_services(databases, dialect, SETTINGS) as env:
        batcher = OrderBatcher(env, batch_max=8, window_seconds=0.01)
        answers: list[tuple[Any, ...]] = []
        for group in groups:
            env.clock.at = max(e.occurred_at for e in group) + timedelta(minutes=1)  # type: ignore[attr-defined]
            if batched:  # delivered together, in this order
                results = await asyncio.gather(*(batcher.submit(e, "import") for e in group), return_exceptions=True)
            else:
                results = []
                for event in group:
                    try:
                        results.append(await process_event(env, event, "import"))
                    except ServiceError as error:
                        results.append(error)
            answers.extend(answer(r) for r in results)
        found = await rows(env)
        await each_event_keeps_its_payloads_fields(env)
        await sellers_totals_are_their_orders_sums(env)
        async with env.db.reading() as session:  # a new distributor's code is drawn at random
            codes = {
                code: f"<distributor {i}>"
                for i, code in await session.execute(select(Distributor.id, Distributor.code))
            }

        def same_codes(text: str) -> str:
            for code, name in codes.items():
                text = text.replace(code, name)
            return text

        answers = [tuple(same_codes(str(part)) for part in a) for a in answers]
        return answers, {t: sorted(same_codes(r) for r in found[t]) for t in found}, (batcher.sets, batcher.batches)


def check(databases: Databases, dialect: str, steps: list[Step], sizes: list[int]) -> tuple[int, int]:
    """(batches run as sets, batches run together statement by statement), once the batched
    run is found to answer and write what the run one event at a time does."""
    groups = chunks(events_of(steps), sizes)
    batched, batched_rows, together = asyncio.run(run(databases, dialect, groups, batched=True))
    alone, alone_rows, _ = asyncio.run(run(databases, dialect, groups, batched=False))
    assert batched == alone
    for table in TABLES:
        assert batched_rows[table] == alone_rows[table], table
    return together


group_sizes = st.lists(st.integers(1, 8), min_size=1, max_size=6)
# Paid orders above all, replayed now and then: what the set path runs (services.order_sets).
repeat = st.builds(Step, kind=st.just("repeat"), hours=st.integers(1, 240))
paid_streams = st.lists(st.one_of(paid, paid, paid, repeat), min_size=2, max_size=16)


@settings(max_examples=25, phases=PHASES, **QUICK)
@given(steps=streams, sizes=group_sizes)
def test_a_stream_delivered_in_batches_answers_and_writes_what_it_does_one_event_at_a_time(
    databases: Databases, steps: list[Step], sizes: list[int]
) -> None:
    check(databases, "sqlite", steps, sizes)


def test_streams_of_paid_orders_and_replays_run_as_sets_and_end_as_they_do_one_by_one(databases: Databases) -> None:
    ran = Counter[str]()

    @settings(max_examples=25, phases=PHASES, **QUICK)
    @given(steps=paid_streams, sizes=group_sizes)
    def stream(steps: list[Step], sizes: list[int]) -> None:
        sets, together = check(databases, "sqlite", steps, sizes)
        ran.update(sets=sets, together=together)

    stream()
    assert ran["sets"] > ran["together"]  # most batches of paid orders never reach the statement path


def test_paid_orders_delivered_together_commit_as_one_batch_with_the_same_rows(databases: Databases) -> None:
    paid = [Step("paid", 1, sku=sku, buyer=buyer, ref=ref) for sku, buyer, ref in SEVEN]
    assert check(databases, "sqlite", paid, [len(paid)]) == (1, 0)  # one set, nothing replayed


def test_a_batch_with_a_replayed_event_and_a_sold_out_box_answers_each_as_alone(databases: Databases) -> None:
    box = [Step("paid", 1, sku="KX-BOX", buyer=f"b-{i}", ref="DEMOC001", quantity=2) for i in range(1, 4)]
    steps = [*box[:1], Step("repeat", 1), *box[1:], Step("refunded", 1, order=0, share=3, quantity=1)]
    assert check(databases, "sqlite", steps, [len(steps)]) == (0, 0)  # a refund inside: replayed alone


SEVEN = [
    ("XH-MATH-S1", "b-1", "DEMOC001"),
    ("HB-YEAR", "b-2", "DEMOC002"),
    ("XH-MATH-S1", "b-3", "DEMOB001"),
    ("KX-BOX", "b-1", None),
    ("KX-CHECKIN", "buyer-lina", "DEMOC001"),
    ("XH-TRIAL", "b-2", None),
    ("HB-TRIAL", "b-3", "DEMOA001"),
]

NO_UPGRADES = edited_settings((UPGRADES_BLOCK, "upgrades: []\n"))  # every sale splits the same way


async def test_many_concurrent_webhook_calls_never_oversell_and_write_the_ledger_of_one_by_one(databases, dialect):
    events = [
        order_event(f"o-{i}", buyer=f"b-{i}", sku=("XH-MATH-S1", "KX-BOX")[i % 2], ref=("DEMOC001", "DEMOC002")[i % 2])
        for i in range(120)
    ]
    events += [dict(events[i]) for i in range(0, 120, 10)]  # replayed deliveries, concurrently too
    for event in events:
        event["amount"] = "399.00" if event["course_sku"] == "XH-MATH-S1" else "199.00"
    ledgers = []
    for concurrent in (True, False):
        async with running_services(databases, dialect, NO_UPGRADES) as env, web_client(env) as client:
            async with env.db.unit_of_work() as session:
                await session.execute(update(Course).where(Course.sku.in_(["XH-MATH-S1", "KX-BOX"])).values(stock=45))
            if concurrent:
                results = await asyncio.gather(*(post_event(client, e) for e in events))
            else:
                results = [await post_event(client, e) for e in events]
            statuses = Counter(body["status"] for _, body in results)
            async with env.db.reading() as session:
                stock = dict((await session.execute(select(Course.sku, Course.stock))).all())
                ledger = dict(
                    (
                        await session.execute(
                            select(LedgerLine.distributor_id, func.sum(LedgerLine.amount)).group_by(
                                LedgerLine.distributor_id
                            )
                        )
                    ).all()
                )
                paid = await session.scalar(select(func.count()).select_from(LedgerLine))
            assert stock["XH-MATH-S1"] == stock["KX-BOX"] == 0
            assert statuses["accepted"] == 90
            assert sum(statuses.values()) - statuses["accepted"] == statuses["duplicate"] + statuses["rejected"]
            ledgers.append((ledger, paid))
    assert ledgers[0] == ledgers[1]
    assert sum(ledgers[0][0].values(), Decimal(0)) > 0


async def test_a_batch_whose_stock_another_transaction_took_meanwhile_runs_again_and_never_oversells(
    databases, dialect, monkeypatch
):
    async with running_services(databases, dialect, NO_UPGRADES) as env:
        async with env.db.unit_of_work() as session:
            await session.execute(update(Course).where(Course.sku == "KX-BOX").values(stock=5))
        write = BatchOrders.write

        async def taken_meanwhile(port: BatchOrders) -> None:
            async with env.db.engine.begin() as other:  # another process sells 3 of the 5
                await other.execute(update(Course).where(Course.sku == "KX-BOX").values(stock=Course.stock - 3))
            await write(port)

        monkeypatch.setattr(BatchOrders, "write", taken_meanwhile)
        batcher = OrderBatcher(env, batch_max=8, window_seconds=0.01)
        events = [
            OrderEventIn.model_validate(order_event(f"o-{i}", buyer=f"b-{i}", sku="KX-BOX", amount="199.00"))
            for i in range(4)
        ]
        results = await asyncio.gather(*(batcher.submit(e) for e in events), return_exceptions=True)
        async with env.db.reading() as session:
            stock = await session.scalar(select(Course.stock).where(Course.sku == "KX-BOX"))
            orders = await session.scalar(select(func.count()).select_from(Order))
    assert [answer(r)[0] for r in results] == ["accepted", "accepted", "Refused", "Refused"]
    assert (stock, orders) == (0, 2)
    assert batcher.sets == 0 and sum(batcher.fallbacks.values()) == 1


async def test_a_full_batch_starts_at_once_instead_of_waiting_out_its_window(databases, dialect):
    async with running_services(databases, dialect, NO_UPGRADES) as env:
        batcher = OrderBatcher(env, batch_max=4, window_seconds=600)  # a window no test would sit out
        events = [
            OrderEventIn.model_validate(order_event(f"o-{i}", buyer=f"b-{i}", sku="KX-BOX", amount="199.00"))
            for i in range(4)
        ]
        results = await asyncio.wait_for(asyncio.gather(*(batcher.submit(e) for e in events)), timeout=60)
    assert [answer(r)[0] for r in results] == ["accepted"] * 4
    assert batcher.sets == 1

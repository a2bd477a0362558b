"""What-if under the configured plan pays what the live pipeline wrote to the ledger,
distributor by distributor, to the fen: both run the one order sequence.

Event streams are generated (paid orders through codes, locks and self-purchases, trials and
the course bound to them; refunds partial, repeated and too large; CPA qualifications;
check-ins; gaps that let the fan lock's protection lapse; a course with little stock). The live
side takes them one transaction each through :func:`services.orders.process_event`, on the
test database; the replay takes the same stream as ``distbot whatif --orders FILE.csv`` does
— a CSV loaded by :func:`services.whatif.gather_inputs`, replayed by :func:`services.whatif.run_replay`.
A replay keeps no stock, so the orders the shop could not sell (the pipeline refused them
for stock) are not in its file.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.base.config import Settings
from core.ledger import Entry
from core.money import to_fen
from models import Distributor, LedgerLine
from models.base import money_sum
from services.errors import Duplicate, ServiceError
from services.order_events import OrderEventIn
from services.order_file import COLUMNS
from services.orders import process_event
from services.whatif import gather_inputs, resolve_plans, run_replay
from tests.support import PG_URL, START, Databases, edited_settings, running_services

# Upgrades and entry by purchase within reach of a short stream; the box nearly sold out.
SETTINGS = edited_settings(
    ("  paths: [code, reach]", "  paths: [code, reach, purchase]\n  purchase_threshold: 700\n "),
    ("      - {promoted_sales: 10000, customers: 20}", "      - {promoted_sales: 800}"),
    (
        "        stock: 500\n        red_packet_thresholds: [300, 100]",
        "        stock: 4\n        red_packet_thresholds: [2]",
    ),
)
PRICES = {
    "XH-MATH-S1": "399.00",
    "XH-TRIAL": "0.10",
    "HB-TRIAL": "9.90",
    "HB-YEAR": "1280.00",
    "KX-CHECKIN": "599.00",
    "KX-BOX": "199.00",
}
BUYERS = ["buyer-lina", "b-1", "b-2", "b-3"]
REFS = [None, None, "DEMOC001", "DEMOC002", "democ001", "DEMOB001", "DEMOA001", "NOBODY"]


@dataclass(frozen=True)
class Step:
    """One event of a generated stream: what happens, and how long after the one before."""

    kind: str
    hours: int
    order: int = 0  # paid: a new order; else: which earlier order (by index, wrapping)
    sku: str = "XH-MATH-S1"
    buyer: str = "b-1"
    ref: str | None = None
    quantity: int = 1
    share: int = 1  # refunds: the amount, in sixths of the order's price × quantity (7: more than paid)


paid = st.builds(
    Step,
    kind=st.just("paid"),
    hours=st.integers(1, 240),
    sku=st.sampled_from(sorted(PRICES)),
    buyer=st.sampled_from(BUYERS),
    ref=st.sampled_from(REFS),
    quantity=st.integers(1, 3),
)
later = st.builds(
    Step,
    kind=st.sampled_from(["refunded", "refunded", "qualified", "checkin_completed", "repeat"]),
    hours=st.integers(1, 240),
    order=st.integers(0, 50),
    quantity=st.integers(0, 3),
    share=st.integers(1, 7),
)
streams = st.lists(st.one_of(paid, paid, later), min_size=1, max_size=14)


def events_of(steps: Sequence[Step]) -> list[dict[str, Any]]:
    """The webhook bodies of a stream; a ``repeat`` delivers the event before it again."""
    bodies: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    at = START
    for n, step in enumerate(steps):
        at += timedelta(hours=step.hours)
        if step.kind == "repeat":
            if bodies:
                bodies.append(dict(bodies[-1]))
            continue
        if step.kind == "paid":
            body = {
                "event_id": f"e-{n}",
                "type": "paid",
                "order_id": f"o-{n}",
                "course_sku": step.sku,
                "quantity": step.quantity,
                "amount": str(Decimal(PRICES[step.sku]) * step.quantity),
                "buyer": {"id": step.buyer, "name": f"买家{step.buyer}"},
                "occurred_at": at.isoformat(),
            }
            if step.ref:
                body["ref"] = step.ref
            orders.append(body)
        elif not orders:
            continue
        else:
            order = orders[step.order % len(orders)]
            amount = Decimal(order["amount"]) * step.share / 6 if step.kind == "refunded" else Decimal(0)
            body = {
                "event_id": f"e-{n}",
                "type": step.kind,
                "order_id": order["order_id"],
                "course_sku": order["course_sku"],
                "quantity": step.quantity if step.kind == "refunded" else 1,
                "amount": str(to_fen(amount)),
                "buyer": order["buyer"],
                "occurred_at": at.isoformat(),
            }
        bodies.append(body)
    return bodies


def write_csv(path: Path, bodies: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for b in bodies:
            buyer = b.get("buyer") or {}
            row = {
                **b,
                "buyer_id": buyer.get("id", ""),
                "buyer_name": buyer.get("name", ""),
                "buyer_phone": "",
                "ref": b.get("ref") or "",
            }
            writer.writerow([row[c] for c in COLUMNS])


@dataclass
class Live:
    ledger: dict[str, Decimal]  # distributor id → net commission
    refused: Counter[str]  # reason → events
    sold_out: set[str]  # event ids refused for stock


async def run_live(
    databases: Databases, dialect: str, bodies: Sequence[dict[str, Any]], folder: Path
) -> tuple[Live, Any]:
    async with running_services(databases, dialect, SETTINGS) as env:
        async with env.db.reading() as session:
            levels = {d: level for d, level in await session.execute(select(Distributor.id, Distributor.level))}
        refused: Counter[str] = Counter()
        seen: set[str] = set()
        sold_out: set[str] = set()
        for body in bodies:
            event = OrderEventIn.model_validate(body)
            env.clock.at = event.occurred_at + timedelta(minutes=1)  # type: ignore[attr-defined]
            try:
                await process_event(env, event, source="import")
            except Duplicate:
                refused["duplicate_event" if event.event_id in seen else "duplicate_order"] += 1
            except ServiceError as exc:
                if exc.code == "out_of_stock":
                    sold_out.add(event.event_id)
                else:
                    refused[exc.code or "?"] += 1
            seen.add(event.event_id)
        async with env.db.reading() as session:
            rows = await session.execute(
                select(LedgerLine.distributor_id, money_sum(LedgerLine.amount))
                .where(LedgerLine.entry.not_in([Entry.SETTLED, Entry.PAID_OUT]))  # a state, not money earned
                .group_by(LedgerLine.distributor_id)
            )
            ledger = {str(d): amount for d, amount in rows}
        # The replay reads the distributors as `distbot whatif` does, from this database; the
        # levels at the start are the ones before the stream (the database keeps no history).
        csv_path = folder / "orders.csv"
        write_csv(csv_path, [b for b in bodies if b["event_id"] not in sold_out])
        configured: Settings = dataclasses.replace(
            SETTINGS,
            raw=SETTINGS.raw.model_copy(
                update={"database": SETTINGS.raw.database.model_copy(update={"url": env.db.url})}
            ),
        )
        inputs = await gather_inputs(configured, csv_path, None, None, lambda read, _: read)
    members = [dataclasses.replace(m, level=levels.get(int(m.id), m.level)) for m in inputs.members]
    return Live(ledger, refused, sold_out), dataclasses.replace(inputs, members=members)


def replayed(inputs: Any) -> tuple[dict[str, Decimal], Counter[str]]:
    plans = resolve_plans(SETTINGS, ["configured"], None)
    result = run_replay(SETTINGS, inputs, plans, None, None, progress=False)
    return dict(result.plans[0].earnings), Counter(result.skipped)


def same_money(a: dict[str, Decimal], b: dict[str, Decimal]) -> dict[str, tuple[Decimal, Decimal]]:
    """Where the two differ, distributor by distributor (zero where one has nothing)."""
    zero = Decimal("0.00")
    return {k: (a.get(k, zero), b.get(k, zero)) for k in a.keys() | b.keys() if a.get(k, zero) != b.get(k, zero)}


# Modest counts, so the suite stays quick: a stream costs a fresh database (a file copy on
# SQLite, a CREATE DATABASE … TEMPLATE on PostgreSQL, several times slower).
QUICK = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink]  # no "explain": minutes per failure here


def check_stream(databases: Databases, dialect: str, folder: Path, steps: list[Step]) -> None:
    bodies = events_of(steps)
    live, inputs = asyncio.run(run_live(databases, dialect, bodies, folder))
    earnings, skipped = replayed(inputs)

    assert same_money(live.ledger, earnings) == {}
    assert skipped == live.refused


@settings(max_examples=30, phases=PHASES, **QUICK)
@given(steps=streams)
def test_what_if_under_the_configured_plan_pays_each_distributor_what_the_ledger_says(
    databases: Databases, tmp_path: Path, steps: list[Step]
) -> None:
    check_stream(databases, "sqlite", tmp_path, steps)


@pytest.mark.skipif(not PG_URL, reason="DISTBOT_TEST_DATABASE_URL is not set")
@settings(max_examples=10, phases=PHASES, **QUICK)
@given(steps=streams)
def test_on_postgresql_too_what_if_pays_each_distributor_what_the_ledger_says(
    databases: Databases, tmp_path: Path, steps: list[Step]
) -> None:
    check_stream(databases, "postgresql", tmp_path, steps)


def test_a_replay_refuses_the_refund_the_pipeline_refuses_units_already_returned_counting(
    databases: Databases, tmp_path: Path
) -> None:
    two = {"kind": "paid", "hours": 1, "sku": "XH-MATH-S1", "buyer": "b-1", "ref": "DEMOC001", "quantity": 2}
    steps = [
        Step(**two),
        Step("refunded", 2, order=0, quantity=1, share=3),  # one unit back, 399.00
        Step("refunded", 3, order=0, quantity=2, share=1),  # two more: only one is left
    ]
    bodies = events_of(steps)
    live, inputs = asyncio.run(run_live(databases, "sqlite", bodies, tmp_path))
    earnings, skipped = replayed(inputs)

    assert live.refused == Counter({"refund_quantity": 1})
    assert skipped == Counter({"refund_quantity": 1})
    # half of 288.00 and 14.40 stays paid, in the ledger and in the replay alike
    assert earnings == live.ledger == {"3": Decimal("144.00"), "2": Decimal("7.20")}

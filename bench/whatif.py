"""Plan what-if: order events replayed per second, for generated histories.

    .venv/bin/python bench/whatif.py [--orders 100000] [--distributors 5000] [--no-end-to-end] [--repeat 3]

Generates a platform on the demo configuration: distributors in a recruiter tree (a few A at
the roots, B and C below, some of them shop customers too), buyers arriving through codes,
and events over 90 days on every demo course — paid orders, refunds (~5%), CPA trials
qualifying, check-ins completed. Then measures, in one run (best of ``--repeat`` runs each):

- core: :func:`core.whatif.replay` alone, three plans at once (configured, team, sales);
- end to end: ``distbot whatif --json --chart`` on an SQLite file holding those
  distributors and events (read-only open, loading, replay, report, chart).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bot.base.config import load_settings  # noqa: E402
from bot.base.db import Database  # noqa: E402
from bot.cli import main  # noqa: E402
from core.products import EventType  # noqa: E402
from core.whatif import Event, Member, replay  # noqa: E402
from models.orders import OrderEvent  # noqa: E402
from models.people import Distributor  # noqa: E402
from services.whatif import resolve_plans, terms_of  # noqa: E402

START = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)
PLANS = ["configured", "team", "sales"]


def generate(orders: int, distributors: int, seed: int = 7) -> tuple[list[Member], list[Event]]:
    rng = random.Random(seed)
    settings = load_settings(ROOT / "config.yaml")
    courses = list(settings.courses.values())
    weights = [{"standard": 6, "trial": 2, "cpa": 2, "checkin_cashback": 1}[c.type.value] for c in courses]
    members: list[Member] = []
    for i in range(distributors):
        level = "A" if i < 10 else rng.choices(["C", "B", "A"], [85, 13, 2])[0]
        recruiter = None if i < 10 else members[rng.randrange(max(10, i // 2), i) if i > 20 else rng.randrange(i)].id
        members.append(
            Member(
                id=str(i + 1),
                code=f"D{i + 1:07d}",
                level=level,
                recruiter=recruiter,
                buyer_id=f"buyer-d{i + 1}" if rng.random() < 0.1 else None,
                joined_at=START - timedelta(days=30),
                name=f"分销员{i + 1}",
            )
        )
    buyers = [f"buyer-{i}" for i in range(orders // 3)] + [m.buyer_id for m in members if m.buyer_id]
    events: list[Event] = []
    step = timedelta(days=90) / orders
    for n in range(orders):
        at = START + step * n
        course = rng.choices(courses, weights)[0]
        quantity = 1 if course.type.value in ("cpa", "checkin_cashback") else rng.choice([1, 1, 1, 2])
        ref = rng.choice(members).code if rng.random() < 0.6 else None
        order = f"o-{n}"
        amount = course.price * quantity
        events.append(Event(f"p-{n}", EventType.PAID, order, course.sku, at, quantity, amount, rng.choice(buyers), ref))
        if course.type.value == "cpa" and rng.random() < 0.6:
            events.append(Event(f"q-{n}", EventType.QUALIFIED, order, course.sku, at + timedelta(days=1), 1))
        if course.type.value == "checkin_cashback" and rng.random() < 0.5:
            events.append(Event(f"c-{n}", EventType.CHECKIN_COMPLETED, order, course.sku, at + timedelta(days=21)))
        if rng.random() < 0.05:
            back = (amount * rng.choice([1, 1, Decimal("0.5")])).quantize(Decimal("0.01"))
            events.append(Event(f"r-{n}", EventType.REFUNDED, order, course.sku, at + timedelta(days=3), 0, back))
    events.sort(key=lambda e: e.at)
    return members, events


def bench_core(members: list[Member], events: list[Event], repeat: int) -> float:
    settings = load_settings(ROOT / "config.yaml")
    plans = resolve_plans(settings, PLANS, None)
    elapsed = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        result = replay(members, events, plans, terms_of(settings))
        elapsed = min(elapsed, time.perf_counter() - started)
    paid = ", ".join(f"{o.plan.name} {o.paid:,}" for o in result.plans)
    print(f"core replay: {len(events):,} events in {elapsed:.2f} s = {len(events) / elapsed:,.0f} events/s")
    print(f"  ({result.orders:,} orders, {len(result.upgrades):,} upgrades; paid: {paid})")
    return elapsed


async def write_database(url: str, members: list[Member], events: list[Event]) -> None:
    db = Database(url)
    try:
        await db.upgrade()
        async with db.engine.begin() as connection:
            rows = [
                {
                    "id": int(m.id),
                    "code": m.code,
                    "name": m.name,
                    "level": m.level,
                    "recruiter_id": int(m.recruiter) if m.recruiter else None,
                    "buyer_id": m.buyer_id,
                    "joined_at": m.joined_at,
                    "level_since": m.joined_at,
                }
                for m in members
            ]
            await connection.execute(insert(Distributor), rows)
            for chunk in range(0, len(events), 20_000):
                await connection.execute(insert(OrderEvent), [_row(e) for e in events[chunk : chunk + 20_000]])
    finally:
        await db.dispose()


def _row(e: Event) -> dict[str, object]:
    payload = {
        "event_id": e.event_id,
        "type": e.type.value,
        "order_id": e.order_id,
        "course_sku": e.sku,
        "quantity": e.quantity,
        "amount": f"{e.amount:.2f}",
        "buyer": {"id": e.buyer, "name": "顾客", "phone": None} if e.buyer else None,
        "ref": e.ref,
        "occurred_at": e.at.isoformat(),
    }
    return {
        "event_id": e.event_id,
        "order_id": e.order_id,
        "type": e.type.value,
        "occurred_at": e.at,
        "received_at": e.at,
        "source": "import",
        "payload": payload,
    }


def bench_end_to_end(members: list[Member], events: list[Event], repeat: int) -> float:
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}"
        asyncio.run(write_database(url, members, events))
        text = (ROOT / "config.yaml").read_text(encoding="utf-8").replace("sqlite+aiosqlite:///distbot.db", url)
        config = Path(workdir) / "config.yaml"
        config.write_text(text, encoding="utf-8")
        argv = ["whatif", "--config", str(config), "--json", "--no-progress", "--chart", str(Path(workdir) / "c.png")]
        for plan in PLANS:
            argv += ["--plan", plan]
        elapsed = float("inf")
        for _ in range(repeat):
            out = io.StringIO()
            started = time.perf_counter()
            with contextlib.redirect_stdout(out):
                code = main(argv)
            elapsed = min(elapsed, time.perf_counter() - started)
    assert code == 0, out.getvalue()[-2000:]
    print(f"end to end (distbot whatif --json --chart, SQLite): {len(events):,} events in {elapsed:.2f} s")
    print(f"  = {len(events) / elapsed:,.0f} events/s")
    return elapsed


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--distributors", type=int, default=5_000)
    parser.add_argument("--no-end-to-end", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    args = parser.parse_args()
    started = time.perf_counter()
    members, events = generate(args.orders, args.distributors)
    print(
        f"generated {len(members):,} distributors, {args.orders:,} orders = {len(events):,} events"
        f" in {time.perf_counter() - started:.1f} s"
    )
    bench_core(members, events, args.repeat)
    if not args.no_end_to_end:
        bench_end_to_end(members, events, args.repeat)


if __name__ == "__main__":
    run()

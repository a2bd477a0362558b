"""SQL statements per order event through the live pipeline, counted by a SQLAlchemy listener.

    .venv/bin/python bench/order_statements.py [--pg URL]

Runs a fixed story on the demo configuration (a fresh SQLite file, and PostgreSQL when
``--pg`` is given): a first order through a code (a new fan lock), a second by the same buyer
(locked), a self-purchase, a trial and the full course bound to it, a CPA trial qualifying, a
partial refund and a second one — each one transaction through :func:`services.orders.process_event`,
the webhook's path. Prints the statements each event sent (the COMMIT and BEGIN included) and
the mean over the paid orders. Each statement is a round trip, so this is the pipeline's cost.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bot.app import build_env, prepare  # noqa: E402
from bot.base.config import load_settings  # noqa: E402
from bot.base.context import FixedClock  # noqa: E402
from services.order_events import OrderEventIn  # noqa: E402
from services.orders import process_event  # noqa: E402

START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def story() -> list[tuple[str, dict[str, Any]]]:
    def ev(
        name: str,
        order: str,
        *,
        type: str = "paid",
        sku: str = "XH-MATH-S1",
        amount: str = "399.00",
        quantity: int = 1,
        buyer: str = "buyer-1",
        ref: str | None = None,
        day: int = 0,
    ) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "event_id": f"{type}-{order}-{day}",
            "type": type,
            "order_id": order,
            "course_sku": sku,
            "quantity": quantity,
            "amount": amount,
            "buyer": {"id": buyer, "name": "陈静"},
            "occurred_at": (START + timedelta(hours=day)).isoformat(),
        }
        if ref:
            body["ref"] = ref
        return name, body

    return [
        ev("paid, code, new lock", "o-1", ref="DEMOC001"),
        ev("paid, locked buyer", "o-2", day=1),
        ev("paid, self-purchase", "o-3", buyer="buyer-lina", ref="DEMOC002", day=2),
        ev("paid, trial", "t-1", sku="HB-TRIAL", amount="9.90", buyer="buyer-2", ref="DEMOC002", day=3),
        ev("paid, bound full course", "f-1", sku="HB-YEAR", amount="1280.00", buyer="buyer-2", ref="DEMOC001", day=4),
        ev("paid, CPA trial", "c-1", sku="XH-TRIAL", amount="0.10", buyer="buyer-3", ref="DEMOC001", day=5),
        ev("qualified", "c-1", type="qualified", sku="XH-TRIAL", amount="0", buyer="buyer-3", day=6),
        ev("refunded, partial", "o-1", type="refunded", amount="100.00", quantity=0, day=7),
        ev("refunded, again", "o-1", type="refunded", amount="99.00", quantity=1, day=8),
    ]


async def count(url: str) -> list[tuple[str, int]]:
    env = build_env(settings=load_settings(ROOT / "config.yaml"), database_url=url, clock=FixedClock(START))
    await prepare(env)
    statements = [0]

    def seen(*_: Any) -> None:
        statements[0] += 1

    event.listen(env.db.engine.sync_engine, "before_cursor_execute", seen)
    event.listen(env.db.engine.sync_engine, "commit", seen)
    event.listen(env.db.engine.sync_engine, "begin", seen)
    figures = []
    try:
        for name, body in story():
            env.clock.at = datetime.fromisoformat(body["occurred_at"]) + timedelta(minutes=1)  # type: ignore[attr-defined]
            statements[0] = 0
            await process_event(env, OrderEventIn.model_validate(body), source="bench")
            figures.append((name, statements[0]))
    finally:
        await env.db.dispose()
    return figures


def report(label: str, figures: list[tuple[str, int]]) -> None:
    print(f"{label}: statements per event (BEGIN and COMMIT included)")
    for name, n in figures:
        print(f"  {name:<28} {n:>3}")
    paid = [n for name, n in figures if name.startswith("paid")]
    print(f"  mean over {len(paid)} paid orders: {sum(paid) / len(paid):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="a PostgreSQL URL of an empty database (createdb) to count on as well")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report("SQLite", asyncio.run(count(f"sqlite+aiosqlite:///{folder}/statements.db")))
    if args.pg:
        report("PostgreSQL", asyncio.run(count(args.pg)))


if __name__ == "__main__":
    main()

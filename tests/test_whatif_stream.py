"""The events ``distbot whatif`` streams from the ``order_events`` table: every row, once, in
replay order (time, then arrival, then id), across the batches the cursor fetches them in —
on SQLite, and on PostgreSQL when configured."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from bot.base.config import load_settings
from bot.base.db import Database
from models import OrderEvent
from services import whatif
from services.whatif import gather_inputs
from tests.support import ROOT, START

DEMO_URL = "sqlite+aiosqlite:///distbot.db"


def rows(count: int) -> list[dict[str, object]]:
    """Events whose ids run against their replay order: three share each time, told apart by
    when they arrived, and pairs that arrived together by their id."""
    found = []
    for n in range(count):
        at = START + timedelta(hours=n // 3)
        received = at + timedelta(seconds=(n % 3) // 2)
        payload = {
            "course_sku": f"SKU-{n % 4}",
            "quantity": 1 + n % 2,
            "amount": f"{100 + n}.50",
            "buyer": {"id": f"b-{n % 5}", "name": "顾客", "phone": None},
            "ref": f"R{n % 3}" if n % 2 else None,
        }
        found.append(
            {
                "event_id": f"e-{count - n:04d}",
                "order_id": f"o-{n}",
                "type": "paid",
                "occurred_at": at,
                "received_at": received,
                "source": "import",
                "payload": payload,
                **{key: payload[key] for key in ("course_sku", "quantity", "ref")},
                "amount": Decimal(str(payload["amount"])),
                "buyer_id": f"b-{n % 5}",
            }
        )
    return found


@pytest.fixture
def stored(databases, dialect, tmp_path, monkeypatch):
    """A database holding 23 events and a configuration pointing at it; the stream fetches 5
    rows at a time, so that the events cross several batches and end in a short one."""
    monkeypatch.delenv("DISTBOT_DATABASE_URL", raising=False)
    monkeypatch.setattr(whatif, "STREAM_ROWS", 5)
    url = asyncio.run(databases.new(dialect))
    events = rows(23)

    async def write() -> list[str]:
        db = Database(url)
        try:
            async with db.engine.begin() as connection:
                await connection.execute(insert(OrderEvent), events)
                order = (OrderEvent.occurred_at, OrderEvent.received_at, OrderEvent.event_id)
                return list((await connection.scalars(select(OrderEvent.event_id).order_by(*order))).all())
        finally:
            await db.dispose()

    in_order = asyncio.run(write())
    config = tmp_path / "config.yaml"
    config.write_text((ROOT / "config.yaml").read_text(encoding="utf-8").replace(DEMO_URL, url), encoding="utf-8")
    return load_settings(config), in_order


def streamed(settings, until=None):
    return asyncio.run(gather_inputs(settings, None, None, until, lambda inputs, _: list(inputs.events)))


def test_every_event_of_the_table_is_replayed_once_in_the_tables_replay_order(stored):
    settings, in_order = stored
    events = streamed(settings)
    assert len(events) == 23
    assert [e.event_id for e in events] == in_order


def test_each_streamed_event_carries_the_fields_of_its_payload(stored):
    settings, _ = stored
    by_id = {e.event_id: e for e in streamed(settings)}
    fields = {key: (e.sku, e.quantity, e.amount, e.buyer, e.ref) for key, e in by_id.items()}
    assert fields["e-0023"] == ("SKU-0", 1, Decimal("100.50"), "b-0", None)  # the first row
    assert fields["e-0022"] == ("SKU-1", 2, Decimal("101.50"), "b-1", "R1")
    assert fields["e-0001"] == ("SKU-2", 1, Decimal("122.50"), "b-2", None)  # the last row
    assert by_id["e-0022"].at == START


def test_a_window_ending_mid_history_streams_only_the_events_before_its_end(stored):
    settings, in_order = stored
    events = streamed(settings, until=START + timedelta(hours=4))  # 4 times of 3 events each
    assert [e.event_id for e in events] == in_order[:12]

"""Stock under concurrent orders, and replays that change nothing — on every database
the suite runs on (PostgreSQL when DISTBOT_TEST_DATABASE_URL is set, as CI does)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select, update

from core.commission import Party, split_sale
from models import Base, Course, LedgerLine, RedPacket
from tests.support import ROOT, START, edited_settings, order_event, post_event, running_services, web_client

UPGRADES_BLOCK = (ROOT / "config.yaml").read_text(encoding="utf-8").split("\nupgrades:\n")[1].split("\nops:")[0]
UPGRADES_BLOCK = f"upgrades:\n{UPGRADES_BLOCK}\n"


async def test_200_orders_at_once_for_150_seats_accept_exactly_150_and_cross_each_threshold_once(databases, dialect):
    # Levels stay fixed here (no upgrade steps), so every accepted order splits the same way.
    settings = edited_settings((UPGRADES_BLOCK, "upgrades: []\n"))
    async with running_services(databases, dialect, settings) as services, web_client(services) as client:
        await _two_hundred_at_once(services, client)


async def _two_hundred_at_once(services, client):
    async with services.db.unit_of_work() as session:
        await session.execute(update(Course).where(Course.sku == "XH-MATH-S1").values(stock=150))
    events = [order_event(f"o-{i}", buyer=f"b-{i}", ref="DEMOC001") for i in range(200)]

    results = await asyncio.gather(*(post_event(client, e) for e in events))

    statuses = Counter(status for status, _ in results)
    assert statuses == {200: 150, 409: 50}
    refusals = [body for status, body in results if status == 409]
    assert all(body["code"] == "out_of_stock" and "only 0 left" in body["reason"] for body in refusals)
    async with services.db.reading() as session:
        assert await session.scalar(select(Course.stock).where(Course.sku == "XH-MATH-S1")) == 0
        thresholds = sorted(await session.scalars(select(RedPacket.threshold)))
        totals = dict(
            (
                await session.execute(select(LedgerLine.kind, func.sum(LedgerLine.amount)).group_by(LedgerLine.kind))
            ).all()
        )
    assert thresholds == [10, 50, 100]
    one = split_sale(services.settings.plan, Decimal("180.00"), Party("c", "C"), Party("b", "B"))
    assert totals == {"seller": one.amount_for("c") * 150, "management": one.amount_for("b") * 150}


async def snapshot(services) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    tables = {}
    async with services.db.reading() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            tables[table.name] = sorted((tuple(map(repr, row)) for row in rows), key=repr)
    return tables


async def test_1000_events_sent_twice_change_no_row_the_second_time(client, services):
    async with services.db.unit_of_work() as session:
        await session.execute(update(Course).where(Course.sku == "KX-BOX").values(stock=10_000))
    refs = ["DEMOC001", "DEMOC002", "DEMOB001", None]
    services.clock.at = START + timedelta(seconds=800)  # the events are posted after they happened
    events = []
    for i in range(800):
        at = START + timedelta(seconds=i)
        events.append(
            order_event(f"o-{i}", sku="KX-BOX", amount="199.00", buyer=f"b-{i % 300}", ref=refs[i % 4], at=at)
        )
    for i in range(0, 400, 2):
        events.append(
            order_event(f"o-{i}", type="refunded", sku="KX-BOX", amount="50.00", quantity=0, at=services.clock.at)
        )
    assert len(events) == 1000

    first = [await post_event(client, e) for e in events]
    before = await snapshot(services)
    second = [await post_event(client, e) for e in events]
    after = await snapshot(services)

    assert Counter(body["status"] for _, body in first) == {"accepted": 1000}
    assert Counter(body["status"] for _, body in second) == {"duplicate": 1000}
    assert after == before

"""The migrations match the models, and ``distbot db upgrade`` is safe to run again, on every
database the suite runs on."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, column, func, insert, inspect, select, table
from sqlalchemy.engine import Connection

from bot.base.db import Database, alembic_config
from bot.cli import main
from models import Base, Brand, Buyer, Course, Distributor, Order, OrderEvent, RelayLine, RelayPush
from models.base import UTCDateTime
from models.sales import sales_of
from tests.support import ROOT, START, running_services


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": False})
    return list(compare_metadata(context, Base.metadata))


def _state(connection: Connection) -> tuple[str | None, dict[str, list[str]]]:
    tables = {name: sorted(c["name"] for c in inspect(connection).get_columns(name)) for name in Base.metadata.tables}
    return MigrationContext.configure(connection).get_current_revision(), tables


async def test_after_upgrade_the_database_has_exactly_the_tables_and_columns_the_models_describe(databases, dialect):
    url = await databases.new(dialect)
    db = Database(url)
    try:
        await db.upgrade()
        async with db.engine.connect() as connection:
            differences = await connection.run_sync(_differences)
            revision, _ = await connection.run_sync(_state)
    finally:
        await db.dispose()
        await databases.drop(url)

    assert differences == []
    assert revision == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_running_the_upgrade_twice_is_harmless_and_keeps_the_data(databases, dialect):
    url = await databases.new(dialect)
    db = Database(url)
    try:
        await db.upgrade()
        async with db.unit_of_work() as session:
            session.add(Brand(id="b-1", name="品牌"))
        async with db.engine.connect() as connection:
            before = await connection.run_sync(_state)

        await db.upgrade()

        async with db.engine.connect() as connection:
            assert await connection.run_sync(_state) == before
        async with db.reading() as session:
            assert await session.scalar(select(Brand.name).where(Brand.id == "b-1")) == "品牌"
    finally:
        await db.dispose()
        await databases.drop(url)


async def demo_rows(url: str) -> tuple[int, int, list[str]]:
    db = Database(url)
    try:
        async with db.reading() as session:
            people = int(await session.scalar(select(func.count(Distributor.id))))
            courses = int(await session.scalar(select(func.count(Course.sku))))
            codes = sorted(await session.scalars(select(Distributor.code)))
        return people, courses, codes
    finally:
        await db.dispose()


def test_db_upgrade_on_a_fresh_database_creates_the_tables_and_seeds_the_four_demo_distributors_once(
    databases, dialect, tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("DISTBOT_DATABASE_URL", raising=False)
    database = tmp_path / "fresh.db"
    url = f"sqlite+aiosqlite:///{database}" if dialect == "sqlite" else asyncio.run(databases.new(dialect))
    config = tmp_path / "config.yaml"
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    assert text.count("sqlite+aiosqlite:///distbot.db") == 1
    config.write_text(text.replace("sqlite+aiosqlite:///distbot.db", url), encoding="utf-8")

    assert main(["db", "upgrade", "--config", str(config)]) == 0
    assert "is up to date" in capsys.readouterr().out
    assert dialect != "sqlite" or database.is_file()
    first = asyncio.run(demo_rows(url))

    assert main(["db", "upgrade", "--config", str(config)]) == 0
    assert asyncio.run(demo_rows(url)) == first
    assert first == (4, 6, ["DEMOA001", "DEMOB001", "DEMOC001", "DEMOC002"])


async def test_pushes_relayed_before_the_upgrade_keep_their_lines_numbered_in_the_order_paid(databases, dialect):
    async with running_services(databases, dialect) as services:
        async with services.db.engine.begin() as connection:
            await connection.run_sync(lambda c: command.downgrade(alembic_config(c), "0006"))
        seller = {"DEMOC001": 0, "DEMOC002": 0}
        async with services.db.unit_of_work() as session:
            for code in seller:
                seller[code] = await session.scalar(select(Distributor.id).where(Distributor.code == code))
            session.add(RelayPush(id=7, brand_id="xinghuo", title="双十二", started_at=START, started_by="mgr"))
            session.add(Buyer(id="b-1", name="陈静", first_seen_at=START))
            await session.flush()
            for order, code, minutes in (("o-late", "DEMOC001", 5), ("o-early", "DEMOC002", 1), ("o-none", None, 3)):
                session.add(
                    Order(
                        id=order, course_sku="XH-MATH-S1", brand_id="xinghuo", buyer_id="b-1", quantity=1,
                        amount=Decimal("399.00"), seller_id=seller.get(code), attribution="ref", push_id=7,
                        paid_at=START + timedelta(minutes=minutes),
                    )
                )  # fmt: skip

        await services.db.upgrade()

        async with services.db.reading() as session:
            lines = (
                await session.execute(
                    select(RelayLine.push_id, RelayLine.number, RelayLine.order_id, RelayLine.amount).order_by(
                        RelayLine.number
                    )
                )
            ).all()
    assert lines == [(7, 1, "o-early", Decimal("399.00")), (7, 2, "o-late", Decimal("399.00"))]


async def test_events_stored_before_the_upgrade_get_the_replays_fields_from_their_payload(databases, dialect):
    paid = {"course_sku": "XH-MATH-S1", "quantity": 2, "amount": "1999.99", "buyer": {"id": "b-1", "name": "陈静"}}
    refund = {"course_sku": "XH-MATH-S1", "quantity": 0, "amount": "133.00", "buyer": None, "ref": None}
    old_events = table(
        "order_events", *(column(name) for name in ("event_id", "order_id", "type", "source")),
        column("occurred_at", UTCDateTime), column("received_at", UTCDateTime), column("payload", JSON),
    )  # fmt: skip
    async with running_services(databases, dialect) as services:
        async with services.db.engine.begin() as connection:
            await connection.run_sync(lambda c: command.downgrade(alembic_config(c), "0015"))
            for event_id, type_, payload in (("e-1", "paid", paid | {"ref": "DEMOC002"}), ("e-2", "refunded", refund)):
                row = {"event_id": event_id, "order_id": "o-1", "type": type_, "source": "import", "payload": payload}
                await connection.execute(insert(old_events), row | {"occurred_at": START, "received_at": START})

        await services.db.upgrade()

        async with services.db.reading() as session:
            e = OrderEvent
            fields = select(e.course_sku, e.quantity, e.amount, e.buyer_id, e.ref).order_by(e.event_id)
            rows = (await session.execute(fields)).all()
    assert rows == [
        ("XH-MATH-S1", 2, Decimal("1999.99"), "b-1", "DEMOC002"),
        ("XH-MATH-S1", 0, Decimal("133.00"), None, None),
    ]


async def test_sellers_totals_start_from_the_orders_already_there_when_upgrading(databases, dialect):
    async with running_services(databases, dialect) as services:
        async with services.db.engine.begin() as connection:
            await connection.run_sync(lambda c: command.downgrade(alembic_config(c), "0016"))
        async with services.db.unit_of_work() as session:
            seller = await session.scalar(select(Distributor.id).where(Distributor.code == "DEMOC001"))
            session.add_all([Buyer(id=b, name=b, first_seen_at=START) for b in ("b-1", "b-2")])
            await session.flush()
            for order, buyer, amount, refunded, own in (
                ("o-1", "b-1", "199.00", "50.00", False),
                ("o-2", "b-1", "199.00", "0", False),
                ("o-3", "b-2", "99.00", "0", True),
                ("o-4", "b-2", "10.00", "0", None),  # no seller
            ):
                session.add(
                    Order(
                        id=order, course_sku="XH-MATH-S1", brand_id="xinghuo", buyer_id=buyer, quantity=1,
                        amount=Decimal(amount), refunded=Decimal(refunded), self_purchase=bool(own),
                        seller_id=seller if own is not None else None, attribution="ref", paid_at=START,
                    )
                )  # fmt: skip

        await services.db.upgrade()

        async with services.db.reading() as session:
            totals = await sales_of(session, [seller])
    assert totals == {seller: (Decimal("348.00"), 1, Decimal("99.00"))}

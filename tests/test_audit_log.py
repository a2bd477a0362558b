"""The audit log: a change made on the console, through the API, in a chat command or by the
CLI is recorded once with who, from where, before and after; ops filter it, a manager sees
only their brand's entries, and no role — nor a direct SQL statement — can change or remove
an entry."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

import handlers
from bot.base.transport import Message
from bot.runtime.dispatch import Dispatcher
from models import AuditEntry, Course
from tests.console_support import log_in, make_account
from tests.fakes import FakeTransport
from tests.support import START, TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def entries(services) -> list[AuditEntry]:
    async with services.db.reading() as session:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


async def stock_of(services, sku: str) -> int | None:
    async with services.db.reading() as session:
        return await session.scalar(select(Course.stock).where(Course.sku == sku))


async def test_a_stock_change_on_the_console_is_recorded_once_with_the_user_and_the_stock_before_and_after(
    client, services
):
    before = await stock_of(services, "XH-MATH-S1")
    await make_account(services, "xiaomei")
    csrf = await log_in(client, "xiaomei")

    response = await client.post(
        "/console/brands/xinghuo/stock", data={"csrf": csrf, "sku": "XH-MATH-S1", "stock": "250"}
    )

    assert response.status == 200
    assert "库存已设置" in await response.text()
    assert await stock_of(services, "XH-MATH-S1") == 250
    [entry] = [e for e in await entries(services) if e.action == "stock.set"]
    assert (entry.actor, entry.actor_role, entry.source, entry.kind) == ("xiaomei", "ops", "console", "stock")
    assert (entry.brand_id, entry.subject) == ("xinghuo", "XH-MATH-S1")
    assert entry.before == {"stock": before} and entry.after == {"stock": 250}
    assert entry.at == START


async def test_the_same_change_in_the_group_is_recorded_for_the_manager_from_the_chat(services):
    dispatcher = Dispatcher(services, handlers.ROUTERS, FakeTransport())
    dispatcher.start()
    await dispatcher.submit(
        Message(
            id="m1",
            sender="mgr-zhaolin",
            sender_name="赵琳",
            text="库存 XH-MATH-S1 180",
            at=START,
            room="room-xinghuo-1",
        )
    )
    await dispatcher.stop()

    [entry] = [e for e in await entries(services) if e.action == "stock.set"]
    assert (entry.actor, entry.actor_role, entry.source) == ("mgr-zhaolin", "manager", "chat")
    assert entry.after == {"stock": 180}


async def test_a_relay_push_started_and_ended_in_the_group_is_recorded_for_the_manager(services):
    dispatcher = Dispatcher(services, handlers.ROUTERS, FakeTransport())
    dispatcher.start()
    for n, text in enumerate(("开始接龙 周末冲刺", "结束接龙")):
        await dispatcher.submit(
            Message(id=f"m{n}", sender="mgr-zhaolin", sender_name="赵琳", text=text, at=START, room="room-xinghuo-1")
        )
    await dispatcher.stop()

    started, ended = [e for e in await entries(services) if e.action.startswith("relay.")]
    assert (started.action, started.actor, started.source) == ("relay.start", "mgr-zhaolin", "chat")
    assert started.kind == "sessions"
    assert (started.brand_id, started.subject, started.after) == ("xinghuo", "周末冲刺", {"title": "周末冲刺"})
    assert (ended.action, ended.brand_id, ended.subject) == ("relay.end", "xinghuo", "周末冲刺")


async def test_the_api_sets_stock_in_the_callers_name_and_lists_the_log_filtered(client, services):
    response = await client.post(
        "/api/brands/xinghuo/stock", json={"sku": "XH-MATH-S1", "stock": 90, "by": "finance-wang"}, headers=AUTH
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["stock"] == 90
    await client.post("/api/distributors/DEMOC001/payouts", json={"amount": "1.00"}, headers=AUTH)

    listed = await (await client.get("/api/audit?kind=stock&brand=xinghuo", headers=AUTH)).json()
    assert [(e["actor"], e["source"], e["after"]) for e in listed["entries"]] == [
        ("finance-wang", "api", {"stock": 90})
    ]
    other = await (await client.get("/api/audit?brand=huiben", headers=AUTH)).json()
    assert other["entries"] == []
    refused = await client.get("/api/audit?kind=everything&since=yesterday", headers=AUTH)
    assert refused.status == 422
    assert len((await refused.json())["errors"]) == 2


async def test_a_manager_sees_only_their_brands_entries_and_cannot_ask_for_another_brand(client, services):
    await make_account(services, "xiaomei")
    await make_account(services, "zhaolin", "manager", ["xinghuo"])
    csrf = await log_in(client, "xiaomei")
    await client.post("/console/brands/xinghuo/stock", data={"csrf": csrf, "sku": "XH-MATH-S1", "stock": "77"})
    await client.post("/console/brands/huiben/stock", data={"csrf": csrf, "sku": "HB-YEAR", "stock": "66"})
    ops_page = await (await client.get("/console/audit?kind=stock")).text()
    assert "XH-MATH-S1" in ops_page and "HB-YEAR" in ops_page

    await client.post("/console/logout", data={"csrf": csrf})
    csrf = await log_in(client, "zhaolin")
    page = await (await client.get("/console/audit")).text()
    assert "XH-MATH-S1" in page and "HB-YEAR" not in page
    assert (await client.get("/console/audit?brand=huiben")).status == 404
    refused = await client.post("/console/brands/huiben/stock", data={"csrf": csrf, "sku": "HB-YEAR", "stock": "1"})
    assert refused.status == 404
    assert await stock_of(services, "HB-YEAR") == 66


async def test_the_console_filters_by_actor_and_period(client, services):
    await make_account(services, "xiaomei")
    await make_account(services, "laowang")
    csrf = await log_in(client, "xiaomei")
    await client.post("/console/brands/xinghuo/stock", data={"csrf": csrf, "sku": "XH-MATH-S1", "stock": "11"})

    mine = await (await client.get("/console/audit?actor=xiaomei")).text()
    theirs = await (await client.get("/console/audit?actor=laowang")).text()
    later = await (await client.get("/console/audit?since=2026-11-26")).text()
    that_day = await (await client.get("/console/audit?since=2026-11-25&until=2026-11-25")).text()

    assert "stock.set" in mine and "stock.set" not in theirs
    assert "stock.set" not in later and "stock.set" in that_day


async def test_no_statement_can_change_or_remove_an_entry(client, services):
    await client.post("/api/brands/xinghuo/stock", json={"sku": "XH-MATH-S1", "stock": 5}, headers=AUTH)
    for statement in (
        update(AuditEntry).values(actor="someone-else"),
        delete(AuditEntry),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with services.db.unit_of_work() as session:
                await session.execute(statement)
    [entry] = await entries(services)
    assert entry.actor == "api"


async def test_settlement_is_recorded_as_the_systems_doing(client, services):
    from services.settlement import settle_pass
    from tests.support import order_event, post_event

    await post_event(client, order_event("o-1", ref="DEMOC001"))
    services.clock.advance(days=8)
    assert await settle_pass(services) == 2

    [entry] = [e for e in await entries(services) if e.action == "settlement"]
    assert (entry.actor, entry.source, entry.kind) == ("system", "system", "money")
    assert entry.after == {"settled": 2, "amount": "151.20"}

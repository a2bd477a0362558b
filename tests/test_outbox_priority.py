"""Outbox priorities and the cap on low-priority rows: what goes first, what is not queued at
all when the outbox is full of menus, and where ops see it."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import select, update

from bot.base.db import Database, alembic_config
from bot.base.outbox import queue_row, queue_text
from bot.base.priorities import BY_TEMPLATE, LOW, Priority
from bot.base.render import Renderer
from models import OutboxDrop, OutboxMessage
from tests.console_support import log_in, make_account
from tests.fakes import FakeTransport
from tests.support import (
    PG_URL,
    START,
    TOKEN,
    Databases,
    _asyncpg_dsn,
    _pg,
    _with_db,
    edited_settings,
    running_services,
    web_client,
)
from tests.test_sender import FakeTime, drain, sender_for

AUTH = {"Authorization": f"Bearer {TOKEN}"}
MENU = {"platform": "童趣优课", "brands": []}


def capped(cap: int):
    return edited_settings(("low_priority_cap: 200", f"low_priority_cap: {cap}"))


async def queue_menus(services, count: int, *, account: str = "helper", first: int = 0) -> None:
    async with services.context() as ctx:
        for n in range(first, first + count):
            queue_text(ctx, target=f"stranger-{n}", template="menu", data=MENU, account=account)


async def rows(services) -> list[OutboxMessage]:
    async with services.db.reading() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def drops(services) -> list[tuple[str, str, str, str, int]]:
    async with services.db.reading() as session:
        found = await session.scalars(select(OutboxDrop).order_by(OutboxDrop.day, OutboxDrop.account))
        return [(d.day.isoformat(), d.account, d.reason, d.template, d.count) for d in found]


def test_every_template_has_a_priority_and_the_lowest_tier_is_menus_how_to_join_and_try_later():
    assert sorted(BY_TEMPLATE) == sorted(Renderer().names())
    assert sorted(t for t, p in BY_TEMPLATE.items() if p == LOW) == [
        "answer_later",
        "how_to_join",
        "menu",
        "menu_reminder",
    ]


async def test_rows_are_queued_with_the_priority_of_their_kind_of_message(services):
    async with services.context() as ctx:
        queue_text(ctx, target="stranger", template="menu", data=MENU)
        queue_text(ctx, target="wx-lina", template="my_code", data={"code": "DEMOC001"})
        queue_row(ctx, kind="room_add", target="wx-lina", payload={"room": "room-xinghuo-1"})
        queue_row(ctx, kind="text", target="wx-lina", template="earned_dm", text="🎉")
        queue_row(ctx, kind="text", target="room-xinghuo-1", target_is_room=True, template="relay_line", text="1.")

    assert [r.priority for r in await rows(services)] == [4, 3, 2, 1, 0]


async def test_the_sender_takes_rows_by_priority_then_group_posts_before_dms_then_the_oldest(services):
    order = [
        ("stranger", False, Priority.MENU),
        ("wx-lina", False, Priority.ANSWER),
        ("room-a", True, Priority.MENU),
        ("wx-wangfang", False, Priority.EARNED),
        ("room-b", True, Priority.WELCOME),
        ("wx-zhangwei", False, Priority.EARNED),
        ("room-c", True, Priority.LIVE),
    ]
    async with services.db.unit_of_work() as session:
        for target, room, priority in order:
            session.add(
                OutboxMessage(
                    account="helper", kind="text", target=target, target_is_room=room, template="t", text=target,
                    priority=priority, created_at=START, not_before=START,
                )
            )  # fmt: skip
    transport = FakeTransport()

    await drain(sender_for(services, transport, FakeTime(), room_interval_seconds=0))

    assert [s.target for s in transport.sent] == [
        "room-c",
        "wx-wangfang",
        "wx-zhangwei",
        "room-b",
        "wx-lina",
        "room-a",
        "stranger",
    ]


async def test_beyond_the_cap_a_new_menu_is_not_queued_but_counted_while_other_tiers_always_are(databases, dialect):
    async with running_services(databases, dialect, capped(3)) as services:
        await queue_menus(services, 5)
        async with services.context() as ctx:
            queue_row(ctx, kind="text", target="wx-lina", template="earned_dm", text="🎉")
            queue_text(ctx, target="wx-lina", template="my_code", data={"code": "DEMOC001"})
            queue_text(ctx, target="stranger-9", template="menu", data=MENU)
        assert [(r.target, r.template) for r in await rows(services)] == [
            ("stranger-0", "menu"),
            ("stranger-1", "menu"),
            ("stranger-2", "menu"),
            ("wx-lina", "earned_dm"),
            ("wx-lina", "my_code"),
        ]
        async with services.db.unit_of_work() as session:  # one menu goes out: room for one more
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == 1).values(status="sent"))
        await queue_menus(services, 2, first=10)

        assert [r.target for r in await rows(services) if r.status == "queued" and r.priority == LOW] == [
            "stranger-1",
            "stranger-2",
            "stranger-10",
        ]
        assert await drops(services) == [("2026-11-25", "helper", "cap", "menu", 4)]


async def test_the_cap_is_per_helper_account(databases, dialect):
    async with running_services(databases, dialect, capped(2)) as services:
        await queue_menus(services, 3)
        await queue_menus(services, 3, account="helper-2", first=3)

        queued = [(r.account, r.target) for r in await rows(services)]
        assert queued == [("helper", "stranger-0"), ("helper", "stranger-1"), ("helper-2", "stranger-3"),
                          ("helper-2", "stranger-4")]  # fmt: skip
        assert [(d[1], d[4]) for d in await drops(services)] == [("helper", 1), ("helper-2", 1)]


async def test_drops_count_on_the_platforms_day_and_ops_can_ask_for_any_day(databases, dialect):
    async with running_services(databases, dialect, capped(1)) as services:
        services.clock.at = START.replace(hour=15, minute=59)  # 23:59 in Shanghai
        await queue_menus(services, 3)
        services.clock.advance(minutes=2)  # 00:01 the next day there
        await queue_menus(services, 1, first=3)

        assert await drops(services) == [
            ("2026-11-25", "helper", "cap", "menu", 2),
            ("2026-11-26", "helper", "cap", "menu", 1),
        ]
        async with web_client(services) as client:
            today = await (await client.get("/api/outbox", headers=AUTH)).json()
            before = await (await client.get("/api/outbox?day=2026-11-25", headers=AUTH)).json()
            malformed = await client.get("/api/outbox?day=yesterday", headers=AUTH)
            refusal = await malformed.json()
    assert (today["not_queued"]["day"], today["not_queued"]["total"]) == ("2026-11-26", 1)
    assert before["not_queued"]["rows"] == [{"account": "helper", "reason": "cap", "template": "menu", "count": 2}]
    assert (today["low_priority_cap"], today["queued_by_priority"]["menu"]) == (1, 1)
    assert malformed.status == 422 and refusal["errors"] == ["day must be a date, YYYY-MM-DD"]


async def test_the_console_outbox_page_shows_what_was_not_sent_today(databases, dialect):
    async with running_services(databases, dialect, capped(1)) as services:
        await queue_menus(services, 1235)
        await make_account(services, "xiaomei")
        async with web_client(services) as client:
            await log_in(client, "xiaomei")
            html = await (await client.get("/console/outbox?status=queued")).text()

    assert "今日未发送 1,234 条：菜单 1,234（队列已满未排队）" in html


async def test_rows_already_queued_at_the_upgrade_get_the_priority_of_their_template(databases, dialect, tmp_path):
    url = await empty_database(databases, dialect, tmp_path)
    db = Database(url)
    before = ScriptDirectory.from_config(alembic_config()).get_revision("0008").down_revision
    outbox = sa.table(
        "outbox",
        *(sa.column(c) for c in ("account", "kind", "target", "target_is_room", "template", "text", "payload")),
        *(sa.column(c) for c in ("status", "attempts", "last_error", "created_at", "not_before")),
    )
    old = [("text", "relay_line", "queued"), ("text", "earned_dm", "queued"), ("room_add", "", "queued"),
           ("text", "stock_set", "queued"), ("text", "menu", "queued"), ("text", "menu", "sent")]  # fmt: skip
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(lambda c: command.upgrade(alembic_config(c), str(before)))
            await connection.execute(
                outbox.insert(),
                [
                    {"account": "helper", "kind": kind, "target": "x", "target_is_room": False, "template": template,
                     "text": "", "payload": "{}", "status": status, "attempts": 0, "last_error": "",
                     "created_at": START.replace(tzinfo=None), "not_before": START.replace(tzinfo=None)}
                    for kind, template, status in old
                ],
            )  # fmt: skip
            await connection.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
        assert [r.priority for r in await rows_of(db)] == [0, 1, 2, 3, 4, 3]  # a sent row keeps the default
        async with db.engine.begin() as connection:  # and back down again
            await connection.run_sync(lambda c: command.downgrade(alembic_config(c), str(before)))
    finally:
        await db.dispose()
        await databases.drop(url)


async def rows_of(db: Database) -> list[OutboxMessage]:
    async with db.reading() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def empty_database(databases: Databases, dialect: str, tmp_path) -> str:
    if dialect == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    name = f"distbot_t_{uuid.uuid4().hex[:12]}"
    await _pg(_asyncpg_dsn(PG_URL), f'CREATE DATABASE "{name}"')
    databases.created.append(name)
    return _with_db(PG_URL, name)

"""Helpers for tests: databases, services, signed webhook posts, order events."""

from __future__ import annotations

import asyncio
import atexit
import copy
import functools
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import make_url

from bot.app import build_env, prepare, web_app
from bot.base.config import Settings, parse_settings
from bot.base.context import FixedClock
from bot.base.env import Env
from bot.web.keys import ENV
from bot.web.webhooks import sign
from tests.pg_pool import PgPool, _asyncpg_dsn, _pg

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("DISTBOT_TEST_DATABASE_URL")
DIALECTS = ["sqlite", *(["postgresql"] if PG_URL else [])]
START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SECRET = "demo-webhook-secret"
TOKEN = "demo-admin-token"


def demo_settings() -> Settings:
    path = ROOT / "config.yaml"
    return _settings(path.read_text(encoding="utf-8"), str(path))


def edited_settings(*replacements: tuple[str, str]) -> Settings:
    """The demo configuration with exact text replacements (each must match once)."""
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} must occur once in config.yaml"
        text = text.replace(old, new)
    return _settings(text, "edited-config.yaml")


def _settings(text: str, source: str) -> Settings:
    """A copy of what ``parse_settings(text, source)`` gave the first time: parsing the file
    takes tens of milliseconds, and most tests start from the same one. The inbox spool, unless
    a test chose its own, is in this process's folder, not the working directory: test
    processes running side by side (``pytest -n``) would each find it locked by another."""
    if text.count(SPOOL) == 1:
        text = text.replace(SPOOL, f"inbox_spool: {_spool_folder() / 'distbot-inbox-{account}.jsonl'}")
    return copy.deepcopy(_parsed_settings(text, source))


SPOOL = "inbox_spool: distbot-inbox-{account}.jsonl"


@functools.cache
def _spool_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="distbot-test-spool-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


@functools.cache
def _parsed_settings(text: str, source: str) -> Settings:
    return parse_settings(text, source)


class Databases:
    """Fresh databases: on SQLite a copy of one migrated template file, on PostgreSQL a migrated
    database of the session's pool (:class:`tests.pg_pool.PgPool`), emptied when given back."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.sqlite_template: Path | None = None
        self.pool = PgPool(PG_URL) if PG_URL else None
        self.created: list[str] = []  # PostgreSQL databases of the tests' own, dropped at the end

    async def new(self, dialect: str) -> str:
        if dialect == "sqlite":
            if self.sqlite_template is None:
                self.sqlite_template = self.workdir / "template.db"
                await migrate(f"sqlite+aiosqlite:///{self.sqlite_template}")
            target = self.workdir / f"{uuid.uuid4().hex}.db"
            shutil.copyfile(self.sqlite_template, target)
            return f"sqlite+aiosqlite:///{target}"
        assert self.pool is not None
        return self.pool.url_of(await self.pool.run(self.pool.new()))

    async def drop(self, url: str) -> None:
        if url.startswith("postgresql"):
            name = make_url(url).database
            if self.pool is not None and self.pool.owns(name):
                assert name is not None
                await self.pool.run(self.pool.give_back(name))
                return
            await _pg(_asyncpg_dsn(PG_URL or url), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.created.remove(str(name))

    def give_back_all(self) -> None:
        """Take back what a test left out (one that never called :meth:`drop`)."""
        if self.pool is not None and self.pool.busy:
            self.pool.run_sync(self.pool.give_back_all())

    def drop_all(self) -> None:
        if self.pool is None:
            return
        self.pool.stop()
        if not self.created:
            return

        async def go() -> None:
            for name in reversed(self.created):
                await _pg(_asyncpg_dsn(PG_URL or ""), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        asyncio.run(go())


async def migrate(url: str) -> None:
    from bot.base.db import Database

    db = Database(url)
    try:
        await db.upgrade()
    finally:
        await db.dispose()


def _with_db(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@asynccontextmanager
async def running_services(
    databases: Databases, dialect: str, settings: Settings | None = None, **options: Any
) -> AsyncIterator[Env]:
    url = await databases.new(dialect)
    services = build_env(
        settings=settings or demo_settings(), database_url=url, clock=FixedClock(START), **options
    )
    await prepare(services)
    try:
        yield services
    finally:
        await services.db.dispose()
        await databases.drop(url)


@asynccontextmanager
async def web_client(services: Env) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(web_app(services)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def order_event(
    order_id: str,
    *,
    type: str = "paid",
    sku: str = "XH-MATH-S1",
    quantity: int = 1,
    amount: str = "399.00",
    buyer: str = "buyer-1",
    buyer_name: str = "陈静",
    ref: str | None = None,
    at: datetime = START,
    event_id: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": event_id or f"{type}-{order_id}",
        "type": type,
        "order_id": order_id,
        "course_sku": sku,
        "quantity": quantity,
        "amount": amount,
        "buyer": {"id": buyer, "name": buyer_name, "phone": "13812345678"},
        "occurred_at": at.isoformat(),
    }
    if ref is not None:
        event["ref"] = ref
    return event


def signed_headers(body: bytes, at: datetime = START, secret: str = SECRET) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    return {
        "Content-Type": "application/json",
        "X-Distbot-Timestamp": timestamp,
        "X-Distbot-Signature": sign(secret, timestamp, body),
    }


async def post_event(
    client: TestClient, event: dict[str, Any], at: datetime | None = None
) -> tuple[int, dict[str, Any]]:
    """Post ``event`` signed at ``at`` (by default the server's clock: the shop posts as it
    happens). An event dated later than the clock is refused, as in production: move the
    clock first (``services.clock.at = …``)."""
    body = json.dumps(event, ensure_ascii=False).encode()
    at = at or client.server.app[ENV].clock.now()
    response = await client.post("/webhooks/orders", data=body, headers=signed_headers(body, at))
    return response.status, await response.json()

"""Database faults for the drills.

PostgreSQL gets a real outage: the test's own database stops accepting connections
(``ALTER DATABASE … ALLOW_CONNECTIONS false``) and its backends are terminated, so every
pooled connection dies and every new one is refused; ending it allows connections again.

SQLite cannot be taken away from a process that has it open (and tests run as root, so file
modes do not stop it), so the engine is made to fail instead: while the fault is on, every
statement raises ``sqlite3.OperationalError("disk I/O error")`` — what SQLite says when the
volume under its file goes away. ``hang`` makes every statement wait instead, without blocking
the event loop (a database that stopped answering).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.util import await_only

import handlers
from bot.app import middlewares, web_app
from bot.base.config import RateLimits, Settings
from bot.base.env import Env
from bot.base.transport import Message
from bot.runtime.dispatch import Dispatcher
from bot.runtime.health import Health
from bot.runtime.metrics import EventMetrics
from bot.runtime.router import Router
from bot.runtime.sender import OutboxSender
from bot.runtime.spool import Spool
from models import OutboxMessage
from tests.fakes import FakeTransport
from tests.support import PG_URL, START, _asyncpg_dsn, _pg, edited_settings

OUTAGE_BEGINS = "database unreachable"
OUTAGE_ENDS = "database reachable again"


def fault_settings(*replacements: tuple[str, str]) -> Settings:
    """The demo configuration with short waits: retries every 0.3 s at most, a chat batch taken
    for hung after 2 s (the drills wait out outages of seconds)."""
    return edited_settings(
        ("retry_max_seconds: 5", "retry_max_seconds: 0.3"), ("batch_timeout_seconds: 30", "batch_timeout_seconds: 2"),
        *replacements,
    )


class DatabaseFault:
    """Takes the services' database away and gives it back (see the module docstring)."""

    def __init__(self, services: Env):
        self.services = services
        self.url = services.db.url
        self.mode: str | None = None
        self.began = 0.0
        if services.db.is_sqlite:
            event.listen(services.db.engine.sync_engine, "before_cursor_execute", self._statement)

    @property
    def postgresql(self) -> bool:
        return not self.services.db.is_sqlite

    def _statement(self, *_: Any) -> None:
        if self.mode == "fail":
            raise sqlite3.OperationalError("disk I/O error")
        while self.mode == "hang":  # until the test lifts it
            await_only(asyncio.sleep(0.02))

    async def begin(self) -> None:
        if self.postgresql:
            name = make_url(self.url).database
            admin = _asyncpg_dsn(PG_URL or "")
            await _pg(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            # With a timeout it waits until each backend is gone (without, it only signals them).
            await _pg(
                admin,
                f"SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '{name}'"
                " AND pid <> pg_backend_pid()",
            )
        self.mode = "fail"
        self.began = time.monotonic()

    async def end(self) -> float:
        """Give the database back; how long it was away (seconds)."""
        if self.postgresql:
            name = make_url(self.url).database
            await _pg(_asyncpg_dsn(PG_URL or ""), f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        self.mode = None
        return time.monotonic() - self.began

    async def __aenter__(self) -> DatabaseFault:
        await self.begin()
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.mode is not None:
            await self.end()


@asynccontextmanager
async def hanging(services: Env) -> AsyncIterator[None]:
    """The database stops answering (see the module docstring); PostgreSQL: another session
    holds an exclusive lock on the outbox, so every read or write of it waits."""
    fault = DatabaseFault(services)
    lock: asyncpg.Connection | None = None
    if fault.postgresql:
        lock = await asyncpg.connect(_asyncpg_dsn(services.db.url))
        await lock.execute("BEGIN; LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE")
    else:
        fault.mode = "hang"
    try:
        yield
    finally:
        fault.mode = None
        if lock is not None:
            await lock.close()


async def outage_over(services: Env, seconds: float = 10) -> None:
    """Wait for the end of the outage to be logged: once work has got through for a second
    (``bot.base.faults.Outage.settle``), which the sender's polling and the probes provide."""

    async def over() -> bool:
        if services.db.outage.down:
            await services.db.ping()
        return not services.db.outage.down

    await eventually(over, seconds, "the end of the outage")


def outage_lines(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    """How many times the outage was logged as beginning and as ending."""
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.base.faults"]
    return sum(m.startswith(OUTAGE_BEGINS) for m in messages), sum(m.startswith(OUTAGE_ENDS) for m in messages)


async def eventually(predicate: Callable[[], Awaitable[bool]], seconds: float, what: str) -> float:
    """Wait until ``predicate`` holds; how long it took. Fails after ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if await predicate():
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not within {seconds} s")


class Prober:
    """Asks /healthz all along a drill; each answer's status and time."""

    def __init__(self, client: TestClient, every: float = 0.2):
        self.client, self.every = client, every
        self.answers: list[tuple[int, float, dict[str, Any]]] = []
        self.asked: list[float] = []  # when each answered probe was sent (monotonic)
        self._task: asyncio.Task[None] | None = None

    async def probe(self) -> tuple[int, float, dict[str, Any]]:
        started = time.monotonic()
        response = await self.client.get("/healthz")
        answer = (response.status, time.monotonic() - started, await response.json())
        self.answers.append(answer)
        self.asked.append(started)
        return answer

    def between(self, start: float, end: float) -> set[int]:
        """The statuses of the probes sent between two moments."""
        return {a[0] for a, at in zip(self.answers, self.asked, strict=True) if start <= at and at + a[1] <= end}

    async def _loop(self) -> None:
        while True:
            await self.probe()
            await asyncio.sleep(self.every)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def slowest(self) -> float:
        return max(seconds for _, seconds, _ in self.answers)

    def statuses(self) -> set[int]:
        return {status for status, _, _ in self.answers}


async def health_client(services: Env, health: Health) -> TestClient:
    client = TestClient(TestServer(web_app(services, health.transport, health)))
    await client.start_server()
    return client


async def outbox_count(services: Env, **where: Any) -> int:
    async with services.db.reading() as session:
        query = select(func.count(OutboxMessage.id))
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return int(await session.scalar(query) or 0)


def quiet_aiohttp_access_log() -> None:
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


class Bot:
    """A dispatcher and a sender on the test transport, with /healthz served: the chat half of
    ``distbot run`` (``bot.app.serve`` wires the same parts)."""

    def __init__(
        self,
        services: Env,
        spool: Spool | None = None,
        transport: FakeTransport | None = None,
        routers: Sequence[Router] = handlers.ROUTERS,
        **dispatcher_options: Any,
    ):
        self.services = services
        self.transport = transport or FakeTransport()
        self.metrics = EventMetrics()
        dispatcher_options.setdefault("middlewares", middlewares(services, self.metrics))
        self.dispatcher = Dispatcher(services, routers, self.transport, spool=spool, **dispatcher_options)
        limits = RateLimits(account_interval_seconds=0, room_interval_seconds=0, jitter_seconds=0)
        self.sender = OutboxSender(services, self.transport, limits)
        self.health = Health(services, self.transport)
        self.health.dispatcher, self.health.sender = self.dispatcher, self.sender
        self.health.metrics = self.metrics
        self.client: TestClient | None = None

    async def __aenter__(self) -> Bot:
        self.services.committed = self.sender.wake.set
        self.dispatcher.start()
        self.sender.start()
        self.client = await health_client(self.services, self.health)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.dispatcher.stop(grace=1)
        await self.sender.stop(grace=0.5)
        if self.client is not None:
            await self.client.close()

    def answered(self) -> list[str]:
        return [sent.target for sent in self.transport.sent]


def dm(sender: str, text: str, n: int = 0) -> Message:
    return Message(id=f"{sender}-{n}", sender=sender, sender_name=sender, text=text, at=START)

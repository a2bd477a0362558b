"""Crafted requests: bodies and paths built to stall the event loop or to reach a 500. Each one
gets its 4xx at once and writes nothing, and a /healthz probe sent while it is handled answers
promptly — no request may hold the loop (the client, the server and the probe share it here,
so a blocked handler shows up as the probe's latency, measured with the loop's clock).

On the code before these drills: ``occurred_at: 1e400000`` held the loop 15 s and
``1e999999`` for good, ``{"amount": 1e999999}`` 13–20 s then a 500; 30,000 nested ``[`` a
RecursionError (500) on every endpoint reading JSON; 9999-12-31T23:59:59+14:00 an
OverflowError; an outbox id beyond BIGINT an OverflowError; a lone surrogate an
UnicodeEncodeError writing the simulator's journal.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import web_app
from bot.transports.sim import SimTransport
from models import Base
from tests.support import TOKEN, order_event, signed_headers

NESTED = b"[" * 30_000
HUGE = b"1e999999"
# Seconds, on the loop's clock. The fixed handlers answer in milliseconds; the bounds leave a
# loaded machine a wide margin, yet catch the old ones (int(Decimal("1e400000")) alone takes
# 4.8 s here, 15 s on a slower machine).
# The stalls these drills found held the loop 13 s to forever; the bounds sit well below that
# and well above what a busy shared machine adds (a probe took 2.3 s there).
PROBE_BOUND = 5.0  # the health probe answers while the crafted request is handled
REQUEST_BOUND = 10.0
ROOM = "room-xinghuo-1"


def event_with(field: str, literal: bytes) -> bytes:
    """A paid order event whose ``field`` is the raw JSON ``literal`` (what json.dumps cannot write)."""
    event = order_event("o-crafted", ref="DEMOC001")
    event[field] = "@@"
    return json.dumps(event, ensure_ascii=False).encode().replace(b'"@@"', literal)


@dataclass(frozen=True)
class Drill:
    name: str
    path: str
    body: bytes
    status: int
    kind: str = "ops"  # ops: the admin token | signed: the webhook signature | sim: nothing


DRILLS = [
    Drill("occurred_at 1e400000 in a signed order", "/webhooks/orders", event_with("occurred_at", b"1e400000"), 422,
          "signed"),
    Drill("occurred_at 1e999999 in a signed order", "/webhooks/orders", event_with("occurred_at", HUGE), 422, "signed"),
    Drill("amount 1e999999 in a signed order", "/webhooks/orders", event_with("amount", HUGE), 422, "signed"),
    Drill("occurred_at at the end of the calendar", "/webhooks/orders",
          event_with("occurred_at", b'"9999-12-31T23:59:59+14:00"'), 422, "signed"),
    Drill("a buyer named by a lone surrogate", "/webhooks/orders",
          event_with("buyer", b'{"id": "b-1", "name": "\\ud800"}'), 422, "signed"),
    Drill("30,000 nested brackets to the webhook", "/webhooks/orders", NESTED, 422, "signed"),
    Drill("a payout of 1e999999", "/api/distributors/DEMOC001/payouts", b'{"amount": ' + HUGE + b"}", 422),
    Drill("a co-learning session with an amount of 1e999999", "/api/colearning/sessions",
          b'{"amount": ' + HUGE + b"}", 422),
    Drill("nested brackets as a payout", "/api/distributors/DEMOC001/payouts", NESTED, 422),
    Drill("nested brackets as a co-learning session", "/api/colearning/sessions", NESTED, 422),
    Drill("nested brackets marking a red packet paid", "/api/red-packets/1/paid", NESTED, 422),
    Drill("nested brackets approving an entry application", "/api/entry-applications/1/approve", NESTED, 422),
    Drill("an outbox id beyond BIGINT", "/api/outbox/9223372036854775808/retry", b"", 404),
    Drill("outbox id 0", "/api/outbox/0/retry", b"", 404),
    Drill("outbox id -1", "/api/outbox/-1/retry", b"", 404),
    *(
        Drill(f"nested brackets to {path}", path, NESTED, 422, "sim")
        for path in (
            "/sim/messages",
            "/sim/friendships",
            "/sim/rooms",
            f"/sim/rooms/{ROOM}/join",
            f"/sim/rooms/{ROOM}/leave",
            f"/sim/rooms/{ROOM}/invitations",
        )
    ),
    Drill("a lone surrogate in a simulated message", "/sim/messages", b'{"from": "wx-lina", "text": "\\ud800"}', 422,
          "sim"),
]  # fmt: skip


@dataclass
class Bot:
    client: TestClient
    journal: Path


@pytest.fixture
async def bot(services, tmp_path) -> AsyncIterator[Bot]:
    """The whole web app — webhook, ops API, console, and the simulator's routes."""
    journal = tmp_path / "world.jsonl"
    transport = SimTransport.from_settings(services.settings, journal)
    delivered = []

    async def sink(event) -> None:
        delivered.append(event)

    await transport.start(sink)
    client = TestClient(TestServer(web_app(services, transport)))
    await client.start_server()
    try:
        yield Bot(client, journal)
    finally:
        await client.close()
        await transport.stop()
    assert delivered == []  # nothing crafted reached the bot


async def rows_per_table(services) -> dict[str, int]:
    async with services.db.reading() as session:
        return {
            t.name: int(await session.scalar(select(func.count()).select_from(t)))
            for t in Base.metadata.tables.values()
        }


def headers_for(drill: Drill, services) -> dict[str, str]:
    if drill.kind == "signed":
        return signed_headers(drill.body, services.clock.now())
    if drill.kind == "ops":
        return {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    return {"Content-Type": "application/json"}


async def run_drill(client: TestClient, drill: Drill, headers: dict[str, str]) -> tuple[int, float, int, float]:
    """(status, seconds the crafted request took, the probe's status, the probe's latency)."""
    loop = asyncio.get_running_loop()

    async def crafted() -> tuple[int, float]:
        started = loop.time()
        async with client.post(drill.path, data=drill.body, headers=headers) as response:
            await response.read()
            return response.status, loop.time() - started

    async def probe() -> tuple[int, float]:
        started = loop.time()
        await asyncio.sleep(0.005)  # the crafted request is on its way or being handled
        async with client.get("/healthz") as response:
            await response.read()
            return response.status, loop.time() - started - 0.005

    (status, took), (probe_status, latency) = await asyncio.gather(crafted(), probe())
    return status, took, probe_status, latency


@pytest.mark.parametrize("drill", DRILLS, ids=[d.name for d in DRILLS])
async def test_a_crafted_request_gets_its_4xx_at_once_writes_nothing_and_the_loop_keeps_answering(bot, services, drill):
    before, journal = await rows_per_table(services), bot.journal.read_bytes()

    status, took, probe_status, latency = await run_drill(bot.client, drill, headers_for(drill, services))

    assert status == drill.status
    # 503 is an answer too: on a busy machine the probe's own database check may miss its 0.5 s.
    assert (probe_status in (200, 503), latency < PROBE_BOUND, took < REQUEST_BOUND) == (True, True, True), (
        probe_status,
        took,
        latency,
    )
    assert await rows_per_table(services) == before
    assert bot.journal.read_bytes() == journal

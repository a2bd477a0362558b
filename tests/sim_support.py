"""The simulator's HTTP routes on an app of their own, with a sink that records what the bot
would receive (for the ``/sim`` tests)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from bot.base.config import RateLimits
from bot.base.transport import Event
from bot.transports.sim import SimTransport
from bot.transports.sim_web import sim_routes
from tests.support import demo_settings

BRAND_ROOM = "room-xinghuo-1"
INSTANT = RateLimits(account_interval_seconds=Decimal(0), room_interval_seconds=Decimal(0), jitter_seconds=Decimal(0))


def png(colour: str = "red", size: tuple[int, int] = (8, 8)) -> bytes:
    """A small real PNG."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


class Sim:
    def __init__(self, client: TestClient, transport: SimTransport, events: list[Event]):
        self.client = client
        self.transport = transport
        self.events = events

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        if method == "POST" and body is None:
            body = {}  # a POST to the simulator is JSON, even an empty one
        response = await self.client.request(method, path, json=body)
        data = await response.json()
        await self.transport.idle()
        return response.status, data

    async def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        return await self.call("POST", path, body)

    async def get(self, path: str) -> Any:
        status, data = await self.call("GET", path)
        assert status == 200, data
        return data


@asynccontextmanager
async def running_sim(tmp_path: Path) -> AsyncIterator[Sim]:
    transport = SimTransport.from_settings(demo_settings(), tmp_path / "world.jsonl")
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    await transport.start(sink)
    app = web.Application()
    app.add_routes(sim_routes(transport))
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Sim(client, transport, events)
    finally:
        await client.close()
        await transport.stop()

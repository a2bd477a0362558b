"""Fixtures: a clock moved by hand, the fake WeCom server, a callback receiver built from the
package's own endpoint, and a client pointed at the fake (its waits move the clock, not time)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.base.context import FixedClock
from bot.transports.wecom import CallbackCrypto, CallbackEndpoint, CallbackEvent, RetryPolicy, WeComClient
from tests.wecom.fake_server import AES_KEY, CALLBACK_TOKEN, CORP_ID, FakeWeCom, Limits

# 10:00 in Shanghai on a Wednesday in November (30 days): far from any month's end
START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@dataclass
class Receiver:
    """What reached our callback URL."""

    url: str
    endpoint: CallbackEndpoint
    events: list[CallbackEvent] = field(default_factory=list)
    fail: int = 0  # answer this many deliveries with an error, as a crashed spool would

    async def deliver(self, event: CallbackEvent) -> None:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("the spool is not writable")
        self.events.append(event)

    def of(self, kind: type[CallbackEvent]) -> list[CallbackEvent]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
async def receiver(clock: FixedClock) -> AsyncIterator[Receiver]:
    crypto = CallbackCrypto(CALLBACK_TOKEN, AES_KEY, CORP_ID, clock=clock)
    holder: list[Receiver] = []

    async def deliver(event: CallbackEvent) -> None:
        await holder[0].deliver(event)

    endpoint = CallbackEndpoint(crypto, deliver)
    app = web.Application()
    app.add_routes(endpoint.routes())
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    holder.append(Receiver(url=str(server.make_url("/wecom/callback")), endpoint=endpoint))
    yield holder[0]
    await server.close()


@pytest.fixture
def limits() -> Limits:
    return Limits()


@pytest.fixture
async def fake(clock: FixedClock, receiver: Receiver, limits: Limits) -> AsyncIterator[FakeWeCom]:
    server = FakeWeCom(clock, limits=limits, callback_url=receiver.url, callback_timeout=2.0)
    await server.start()
    yield server
    await server.stop()


@dataclass
class Sleeps:
    """The client's waits: recorded, and the clock moved by them, without waiting."""

    clock: FixedClock
    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds=seconds)


@pytest.fixture
def sleeps(clock: FixedClock) -> Sleeps:
    return Sleeps(clock)


@pytest.fixture
async def client(fake: FakeWeCom, clock: FixedClock, sleeps: Sleeps) -> AsyncIterator[WeComClient]:
    async with WeComClient(fake.corp_id, fake.secret, base_url=fake.base_url, clock=clock, sleep=sleeps,
                           timeout=15.0, retry=RetryPolicy()) as wecom:
        yield wecom

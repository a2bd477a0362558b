"""What the wechaty tests share: a sink that collects events, a transport with short timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from bot.base.transport import Event
from bot.transports.wechaty_adapter import WechatyTransport
from tests.wechaty.puppet_server import FakePuppetService

E = TypeVar("E", bound=Event)
ROOM = "room-xh"
TOKEN = "puppet-service-token"


class Sink:
    """Collects what the transport delivers; ``delay`` makes it slow for some events."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.delay: Callable[[Event], float] = lambda event: 0.0
        self._changed = asyncio.Condition()

    async def __call__(self, event: Event) -> None:
        await asyncio.sleep(self.delay(event))
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    async def wait_for(self, count: int, timeout: float = 3.0) -> list[Event]:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.events) >= count)
        return self.events

    async def first(self, kind: type[E], timeout: float = 3.0) -> E:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: any(isinstance(e, kind) for e in self.events))
        return next(e for e in self.events if isinstance(e, kind))


def transport_for(server: FakePuppetService, **options: Any) -> WechatyTransport:
    """Timeouts short enough for tests, long enough for a busy 2-core machine: a call gets 3 s,
    the service may stay silent 3 s (a ding after 1 s) before it is taken for hung."""
    defaults: dict[str, Any] = {
        "backoff": (0.05, 0.2),
        "idle_after": 0.2,
        "call_timeout": 3,
        "heartbeat_timeout": 3,
        "drain_timeout": 1,
    }
    return WechatyTransport(server.endpoint, TOKEN, **(defaults | options))


async def eventually(condition: Callable[[], bool], timeout: float = 3.0, step: float = 0.02) -> None:
    """Wait until ``condition()`` holds (a guard against hanging, not a measurement)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(step)

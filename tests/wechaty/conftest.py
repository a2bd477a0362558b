from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.transports.wechaty_adapter import WechatyTransport
from tests.wechaty.puppet_server import FakePuppetService
from tests.wechaty.support import ROOM, Sink, transport_for


@pytest.fixture
async def server() -> AsyncIterator[FakePuppetService]:
    service = FakePuppetService()
    service.add_contact("c1", "王妈妈")
    service.add_contact("c2", "李爸爸")
    service.add_contact("c3", "张老师")
    service.add_room(ROOM, "小熊数学推广群", ["c1"])
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
async def transport(server: FakePuppetService, sink: Sink) -> AsyncIterator[WechatyTransport]:
    wechaty = transport_for(server)
    await wechaty.start(sink)
    assert await wechaty.wait_logged_in(timeout=5)
    yield wechaty
    await wechaty.stop()

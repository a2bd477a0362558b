"""What the wechaty transport declares beyond the contract suite's common ground: a received
picture read through MessageImage (inline or behind a URL), removal only from rooms the helper
owns, and capabilities withdrawn when the puppet service turns out not to implement them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from bot.base.transport import Message, Refused, UnknownTarget, Unsupported
from bot.transports.wechaty_adapter import WechatyTransport
from tests.sim_support import png
from tests.wechaty.puppet_server import FakePuppetService, pb
from tests.wechaty.support import Sink


@pytest.fixture
async def pictures() -> AsyncIterator[TestServer]:
    """Where a puppet service keeps pictures too large to send inline: 127.0.0.1 only."""

    async def picture(request: web.Request) -> web.Response:
        if request.match_info["name"] != "slide.png":
            raise web.HTTPNotFound()
        return web.Response(body=png("blue"), content_type="image/png")

    app = web.Application()
    app.router.add_get("/files/{name}", picture)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def test_a_picture_behind_a_url_is_fetched_and_a_vanished_one_is_an_unknown_target(
    transport: WechatyTransport, server: FakePuppetService, sink: Sink, pictures: TestServer
) -> None:
    slide = server.image("c1", b"", url=str(pictures.make_url("/files/slide.png")))
    gone = server.image("c1", b"", url=str(pictures.make_url("/files/gone.png")))
    await sink.wait_for(2)
    assert [e.kind for e in sink.events if isinstance(e, Message)] == ["image", "image"]

    assert await transport.image_bytes(slide) == png("blue")
    with pytest.raises(UnknownTarget):
        await transport.image_bytes(gone)
    assert [r.type for r in server.requests("MessageImage")] == [pb.ImageType.IMAGE_TYPE_HD] * 2


async def test_a_service_without_images_withdraws_the_capability_and_is_not_asked_again(
    transport: WechatyTransport, server: FakePuppetService
) -> None:
    sent = server.image("c1", png())
    server.failures["MessageImage"] = GRPCError(Status.UNIMPLEMENTED, "Method not implemented")

    with pytest.raises(Unsupported):
        await transport.image_bytes(sent)
    assert not transport.capabilities.image_bytes
    with pytest.raises(Unsupported):
        await transport.image_bytes(sent)
    assert len(server.requests("MessageImage")) == 1


async def test_a_service_that_cannot_create_rooms_is_not_asked_again(
    transport: WechatyTransport, server: FakePuppetService
) -> None:
    server.failures["RoomCreate"] = GRPCError(Status.UNIMPLEMENTED, "Method not implemented")
    assert await transport.create_room("新群", ["c1", "c2"]) is None

    assert not transport.capabilities.create_rooms
    with pytest.raises(Unsupported):
        await transport.create_room("新群", ["c1", "c2"])
    assert len(server.requests("RoomCreate")) == 1


async def test_removing_someone_from_a_room_the_helper_does_not_own_is_refused(
    transport: WechatyTransport, server: FakePuppetService
) -> None:
    server.rooms["room-theirs"] = pb.RoomPayloadResponse(
        id="room-theirs", topic="张老师的共学群", owner_id="c3", member_ids=["c3", server.self_id, "c1"]
    )

    with pytest.raises(Refused):
        await transport.remove_from_room("room-theirs", "c1")
    assert "c1" in server.rooms["room-theirs"].member_ids

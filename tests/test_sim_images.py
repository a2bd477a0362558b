"""Images in the simulator: the bytes are kept (bounded, beside the journal, not in it), served
to the page so a person sees the poster the group sees, and handed to the bot
(``image_bytes``), which relays a lecturer's slide to the co-learning groups."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.base.transport import Message, UnknownTarget
from bot.runtime.dispatch import Dispatcher
from bot.runtime.sender import OutboxSender
from bot.transports.sim import SimTransport, SimWorld
from bot.transports.sim_images import ImageStore, folder_for
from tests.colearning_support import (
    LECTURE_ROOM,
    LECTURER,
    ROUTERS,
    SESSION_START,
    colearning_client,
    enrol,
    session_body,
)
from tests.sim_support import BRAND_ROOM, INSTANT, Sim, png, running_sim
from tests.support import TOKEN, demo_settings

AUTH = {"Authorization": f"Bearer {TOKEN}"}
MINUTE = timedelta(minutes=1)


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[Sim]:
    async with running_sim(tmp_path) as running:
        yield running


async def test_the_poster_the_helper_posts_is_served_as_an_image_the_page_can_show(sim: Sim) -> None:
    poster = png("gold", (40, 60))
    await sim.transport.send_image(BRAND_ROOM, poster, room=True, name="leaderboard.png", ref="7")

    [message] = (await sim.get(f"/sim/rooms/{BRAND_ROOM}/messages"))["messages"]
    assert (message["kind"], message["text"], message["image"]) == (
        "image",
        "leaderboard.png",
        f"/sim/images/{message['id']}",
    )
    response = await sim.client.get(message["image"])
    assert response.status == 200
    assert response.content_type == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert await response.read() == poster


async def test_a_photo_a_person_sends_reaches_the_bot_which_can_fetch_its_bytes(sim: Sim) -> None:
    photo = png("blue")
    body = {"from": "wx-lina", "kind": "image", "room": "room-material", "image_b64": base64.b64encode(photo).decode()}
    status, answer = await sim.post("/sim/messages", body)

    assert status == 202
    [event] = sim.events
    assert isinstance(event, Message) and event.kind == "image"
    assert await sim.transport.image_bytes(event.id) == photo
    assert answer["message"]["image"] == f"/sim/images/{event.id}"
    with pytest.raises(UnknownTarget):
        await sim.transport.image_bytes("m-404")


@pytest.mark.parametrize(
    ("image_b64", "reason"),
    [
        (base64.b64encode(b"<svg onload=alert(1)>").decode(), "只能发送 PNG、JPEG、GIF 或 WebP 图片"),
        ("not base64!", "'image_b64' is not valid base64"),
        (base64.b64encode(png(size=(300, 300))).decode(), "图片太大"),
    ],
)
async def test_bytes_that_are_not_an_image_or_too_large_are_refused_and_nothing_is_said(
    sim: Sim, image_b64: str, reason: str
) -> None:
    sim.transport.world.images.per_image = 500  # a 300×300 PNG is over it
    status, answer = await sim.post(
        "/sim/messages", {"from": "wx-lina", "kind": "image", "room": "room-material", "image_b64": image_b64}
    )
    assert status == 422
    assert reason in answer["reason"]
    assert sim.events == [] and sim.transport.world.room("room-material").messages == []


async def test_images_are_bounded_and_the_oldest_is_dropped_first_while_its_message_stays(tmp_path: Path) -> None:
    first, second, third = png("red"), png("green"), png("blue")
    store = ImageStore(tmp_path / "images", per_image=len(first) + 10, total=2 * len(first) + 10)
    world = SimWorld(journal=tmp_path / "world.jsonl", images=store)
    world.add_contact("wx-lina", "李娜")
    world.befriend("wx-lina")
    said = [
        world.say("helper", f"图{n}", to="wx-lina", kind="image", image=data)
        for n, data in enumerate([first, second, third])
    ]

    assert [store.get(m["id"]) for m in said] == [None, second, third]
    assert len(world.conversation("wx-lina")) == 3  # the message is still there, its picture expired
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == [said[1]["id"], said[2]["id"]]
    world.close()


async def test_image_bytes_stay_out_of_the_journal_and_survive_a_restart(tmp_path: Path) -> None:
    journal = tmp_path / "world.jsonl"
    transport = SimTransport.from_settings(demo_settings(), journal)
    poster = png("purple", (30, 30))
    sent = await transport.send_image(BRAND_ROOM, poster, room=True, name="leaderboard.png")
    transport.world.close()

    assert base64.b64encode(poster).decode()[:40] not in journal.read_text(encoding="utf-8")
    again = SimTransport.from_settings(demo_settings(), journal)
    assert await again.image_bytes(sent) == poster
    again.world.close()

    journal.unlink()  # a fresh world: the old pictures must not show under reused message ids
    fresh = SimTransport.from_settings(demo_settings(), journal)
    assert list(folder_for(journal).iterdir()) == []
    fresh.world.close()


async def test_a_lecturers_slide_said_in_the_simulator_reaches_the_co_learning_groups_as_the_same_picture(
    services, tmp_path: Path
) -> None:
    await enrol(services, ["room-g1"])
    async with colearning_client(services) as client:
        created = await client.post("/api/colearning/sessions", json=session_body(), headers=AUTH)
        assert created.status == 201, await created.text()
    world = SimWorld.from_settings(services.settings, tmp_path / "world.jsonl", clock=lambda: SESSION_START + MINUTE)
    world.add_contact(LECTURER, "王老师")
    world.ensure_room(LECTURE_ROOM, "直播间", [world.helper, LECTURER])
    world.ensure_room("room-g1", "李娜的家长群", ["wx-lina", world.helper])
    transport = SimTransport(world)
    dispatcher = Dispatcher(services, ROUTERS, transport)
    dispatcher.start()
    await transport.start(dispatcher.submit)
    slide = png("teal", (64, 48))
    try:
        said = world.say(LECTURER, "板书.png", room=LECTURE_ROOM, kind="image", image=slide)
        transport.deliver(world.message_event(said))
        await transport.idle()
        sender = OutboxSender(services, transport, INSTANT)
        while await sender.send_next() is not None:
            pass
    finally:
        await transport.stop()
        await dispatcher.stop()

    [relayed] = [m for m in world.room("room-g1").messages if m["kind"] == "image"]
    assert relayed["from"] == "helper" and world.images.get(relayed["id"]) == slide

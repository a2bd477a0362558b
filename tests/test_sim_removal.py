"""The simulator takes people out of rooms as WeChat does — only from a room the helper owns —
tells the bot, and keeps the removal across a restart; an acceptance sent again changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.base.transport import Event, Refused, RoomLeave
from bot.transports.sim import SimTransport, SimWorld
from tests.support import demo_settings

BRAND_ROOM = "room-xinghuo-1"


async def test_the_helper_removes_someone_from_its_own_room_and_the_removal_survives_a_restart(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "world.jsonl"
    transport = SimTransport.from_settings(demo_settings(), journal)
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    await transport.start(sink)
    transport.world.join(BRAND_ROOM, ["wx-lina"])
    await transport.remove_from_room(BRAND_ROOM, "wx-lina", ref="7")
    await transport.remove_from_room(BRAND_ROOM, "wx-lina", ref="7")  # a resend: gone already
    await transport.idle()
    await transport.stop()

    assert [(e.room, e.named) for e in events if isinstance(e, RoomLeave)] == [(BRAND_ROOM, ("wx-lina",))]
    again = SimWorld.from_settings(demo_settings(), journal)
    try:
        assert "wx-lina" not in again.members(BRAND_ROOM)
        assert again.received_refs() == ["7", "7"]  # the resend arrived too, and changed nothing
    finally:
        again.close()


async def test_the_helper_cannot_remove_anyone_from_a_room_someone_else_owns(tmp_path: Path) -> None:
    transport = SimTransport.from_settings(demo_settings(), tmp_path / "world.jsonl")
    world = transport.world
    room = world.create_room("李娜的家长群", ["wx-zhangwei"], owner="wx-lina")
    card = world.invite(room, "helper", inviter="wx-lina")
    assert card is not None
    await transport.accept_room_invitation(card.id)
    await transport.accept_room_invitation(card.id)  # a resend: in already

    with pytest.raises(Refused, match="不是群「李娜的家长群」的群主"):
        await transport.remove_from_room(room, "wx-zhangwei")
    assert world.members(room) == ["wx-lina", "wx-zhangwei", "helper"]
    await transport.stop()

"""The simulated WeChat world and the ``sim`` transport: WeChat's rules as the bot meets them,
and a world that survives a restart (and a ``kill -9``) through its journal."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.base.transport import Event, FriendRequest, Message, NeedInvite, RoomFull, RoomJoin, UnknownTarget
from bot.transports.sim import Refused, SimTransport, SimWorld
from tests.support import ROOT, demo_settings

BRAND_ROOM = "room-xinghuo-1"


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return tmp_path / "world.jsonl"


@pytest.fixture
def world(journal: Path) -> Iterator[SimWorld]:
    world = SimWorld.from_settings(demo_settings(), journal)
    yield world
    world.close()


@pytest.fixture
async def sim(journal: Path) -> AsyncIterator[tuple[SimTransport, list[Event]]]:
    transport = SimTransport.from_settings(demo_settings(), journal, page_url="http://127.0.0.1:8080/sim")
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    await transport.start(sink)
    yield transport, events
    await transport.stop()


def fill(world: SimWorld, room: str, until: int) -> None:
    """People join until the room holds ``until`` members."""
    missing = until - len(world.members(room))
    people = [f"wx-fill-{room}-{i}" for i in range(missing)]
    for person in people:
        world.add_contact(person, person)
    if people:
        world.join(room, people)


# ----------------------------------------------------------------------------- the seeded world


def test_each_brand_group_is_a_room_with_the_helper_and_the_brand_managers(world: SimWorld) -> None:
    assert world.rooms[BRAND_ROOM].topic == "星火思维推广1群"
    assert world.members(BRAND_ROOM) == ["helper", "mgr-zhaolin"]
    assert world.members("room-huiben-1") == ["helper", "mgr-sunyu"]
    assert world.name("mgr-zhaolin") == "星火思维课程经理"


def test_the_material_group_holds_the_helper_the_demo_distributors_and_ops(world: SimWorld) -> None:
    members = world.members("room-material")
    assert members[0] == "helper"
    assert {"wx-linxiao", "wx-wangfang", "wx-lina", "wx-zhangwei", "ops-xiaomei"} <= set(members)


def test_demo_distributors_are_contacts_with_their_names_and_friends_of_the_helper(world: SimWorld) -> None:
    assert world.name("wx-lina") == "李娜"
    assert {"wx-linxiao", "wx-wangfang", "wx-lina", "wx-zhangwei"} <= world.friends


def test_seeding_an_existing_world_again_writes_nothing_new(journal: Path, world: SimWorld) -> None:
    lines = journal.read_text(encoding="utf-8").count("\n")
    again = SimWorld.from_settings(demo_settings(), journal)
    again.close()
    assert journal.read_text(encoding="utf-8").count("\n") == lines


# ----------------------------------------------------------------------------- WeChat's room rules


async def test_the_helper_adds_people_directly_while_a_room_has_at_most_40_members(sim) -> None:
    transport, events = sim
    fill(transport.world, BRAND_ROOM, 40)
    await transport.add_to_room(BRAND_ROOM, "wx-lina", ref="7")
    await transport.idle()
    assert "wx-lina" in await transport.room_members(BRAND_ROOM)
    assert len(await transport.room_members(BRAND_ROOM)) == 41
    assert events == [RoomJoin(BRAND_ROOM, ("wx-lina",), events[0].at, inviter="helper")]


async def test_above_40_members_a_direct_add_needs_an_invitation_the_contact_accepts(sim) -> None:
    transport, _ = sim
    world = transport.world
    fill(world, BRAND_ROOM, 41)
    with pytest.raises(NeedInvite):
        await transport.add_to_room(BRAND_ROOM, "wx-lina", ref="8")
    await transport.invite_to_room(BRAND_ROOM, "wx-lina", ref="9")
    [card] = world.invitations_for("wx-lina")
    assert (card.room, card.state) == (BRAND_ROOM, "pending")
    assert "wx-lina" not in await transport.room_members(BRAND_ROOM)

    world.accept_invitation(card.id)
    assert "wx-lina" in await transport.room_members(BRAND_ROOM)
    assert card.state == "accepted"
    assert world.received_refs() == ["9"]  # the refused add never arrived


def test_a_room_never_holds_more_than_500_members(world: SimWorld) -> None:
    fill(world, BRAND_ROOM, 499)
    world.invite(BRAND_ROOM, "wx-lina")
    world.join(BRAND_ROOM, ["wx-zhangwei"])
    assert len(world.members(BRAND_ROOM)) == 500
    with pytest.raises(RoomFull):
        world.add(BRAND_ROOM, "wx-wangfang")
    with pytest.raises(RoomFull):
        world.invite(BRAND_ROOM, "wx-wangfang")
    with pytest.raises(RoomFull):
        world.join(BRAND_ROOM, ["wx-wangfang"])
    with pytest.raises(RoomFull):
        world.accept_invitation(world.invitations_for("wx-lina")[0].id)
    with pytest.raises(RoomFull):
        everyone = [*world.members(BRAND_ROOM), "wx-wangfang"]  # 501 with the helper
        world.create_room("太大的群", everyone[1:])


async def test_several_people_joining_at_once_are_named_as_one_but_all_are_members(sim) -> None:
    transport, _ = sim
    for person in ("wx-a", "wx-b", "wx-c"):
        transport.world.add_contact(person, person)
    event = transport.world.join(BRAND_ROOM, ["wx-a", "wx-b", "wx-c"])
    assert event.named == ("wx-a",)
    assert await transport.room_members(BRAND_ROOM) == ["helper", "mgr-zhaolin", "wx-a", "wx-b", "wx-c"]


async def test_create_room_makes_a_new_room_the_helper_owns(sim) -> None:
    transport, _ = sim
    room = await transport.create_room("星火思维推广3群", ["wx-lina", "mgr-zhaolin"])
    assert room == "room-1"
    assert transport.world.rooms[room].topic == "星火思维推广3群"
    assert transport.world.rooms[room].owner == "helper"
    assert await transport.room_members(room) == ["helper", "wx-lina", "mgr-zhaolin"]
    assert await transport.create_room("又一个群", ["wx-lina"]) == "room-2"


async def test_the_helper_accepting_an_invitation_to_someones_group_becomes_a_member(sim) -> None:
    transport, events = sim
    world = transport.world
    room = world.create_room("李娜的家长群", ["wx-zhangwei"], owner="wx-lina")
    card = world.invite(room, "helper", inviter="wx-lina")
    assert card is not None
    invitation = world.invitation_event(card)
    assert (invitation.topic, invitation.inviter, invitation.member_count) == ("李娜的家长群", "wx-lina", 2)
    with pytest.raises(UnknownTarget):
        await transport.room_members(room)  # not in it yet: the helper cannot see it

    await transport.accept_room_invitation(card.id)
    await transport.idle()
    assert await transport.room_members(room) == ["wx-lina", "wx-zhangwei", "helper"]
    assert [(e.room, e.named) for e in events if isinstance(e, RoomJoin)] == [(room, ("helper",))]


async def test_unknown_contacts_rooms_and_invitations_are_unknown_targets(sim) -> None:
    transport, _ = sim
    with pytest.raises(UnknownTarget):
        await transport.send_text("wx-nobody", "你好", room=False)
    with pytest.raises(UnknownTarget):
        await transport.send_text("room-nowhere", "大家好", room=True)
    with pytest.raises(UnknownTarget):
        await transport.add_to_room(BRAND_ROOM, "wx-nobody")
    with pytest.raises(UnknownTarget):
        await transport.invite_to_room("room-nowhere", "wx-lina")
    with pytest.raises(UnknownTarget):
        await transport.room_members("room-nowhere")
    with pytest.raises(UnknownTarget):
        await transport.accept_friend("fr-404")
    with pytest.raises(UnknownTarget):
        await transport.accept_room_invitation("inv-404")


async def test_the_helper_messages_only_its_friends_and_rooms_it_is_in(sim) -> None:
    transport, _ = sim
    world = transport.world
    world.add_contact("wx-stranger", "陌生人")
    with pytest.raises(Refused, match="不是小助手的好友"):
        await transport.send_text("wx-stranger", "你好", room=False)
    room = world.create_room("没有小助手的群", ["wx-zhangwei"], owner="wx-lina")
    with pytest.raises(UnknownTarget, match="not in room"):
        await transport.send_text(room, "大家好", room=True)


async def test_a_friend_request_accepted_makes_a_friend_the_helper_can_message(sim) -> None:
    transport, _ = sim
    request = transport.world.request_friend("wx-new", "新妈妈", "分销")
    assert isinstance(request, FriendRequest)
    assert (request.contact, request.name, request.hello) == ("wx-new", "新妈妈", "分销")
    await transport.accept_friend(request.id)
    await transport.send_text("wx-new", "欢迎！", room=False)
    assert [m["text"] for m in transport.world.said_to("wx-new")] == ["欢迎！"]


# ----------------------------------------------------------------------------- sends and events


async def test_every_helper_send_is_recorded_with_its_ref_where_it_was_sent(sim) -> None:
    transport, _ = sim
    first = await transport.send_text("wx-lina", "你的收益：100.00 元", room=False, ref="1")
    await transport.send_text(BRAND_ROOM, "接龙开始", room=True, mentions=["mgr-zhaolin"], ref="2")
    await transport.send_image("wx-lina", b"\x89PNG", room=False, name="海报.png", ref="3")
    await transport.send_text("wx-lina", "你的收益：100.00 元", room=False, ref="1")  # a resend is recorded too

    said = transport.world.said_to("wx-lina")
    assert [(m["text"], m["kind"], m["ref"]) for m in said] == [
        ("你的收益：100.00 元", "text", "1"),
        ("海报.png", "image", "3"),
        ("你的收益：100.00 元", "text", "1"),
    ]
    assert said[0]["id"] == first
    [posted] = transport.world.rooms[BRAND_ROOM].messages
    assert (posted["from"], posted["text"], posted["mentions"], posted["ref"]) == (
        "helper",
        "接龙开始",
        ["mgr-zhaolin"],
        "2",
    )
    assert transport.world.received_refs() == ["1", "2", "3", "1"]


async def test_events_reach_the_sink_in_order_within_each_conversation(journal: Path) -> None:
    transport = SimTransport.from_settings(demo_settings(), journal)
    seen: list[tuple[str, str]] = []

    async def slow_sink(event: Event) -> None:
        assert isinstance(event, Message)
        await asyncio.sleep(0.002 if event.sender == "wx-lina" else 0)
        seen.append((event.sender, event.text))

    world = transport.world
    for i in range(5):  # said before the bot started: delivered once it does
        transport.deliver(world.message_event(world.say("wx-lina", f"lina {i}")))
    await transport.start(slow_sink)
    for i in range(5, 10):
        transport.deliver(world.message_event(world.say("wx-lina", f"lina {i}")))
        transport.deliver(world.message_event(world.say("wx-zhangwei", f"wei {i}")))
    await transport.idle()
    await transport.stop()
    assert [t for s, t in seen if s == "wx-lina"] == [f"lina {i}" for i in range(10)]
    assert [t for s, t in seen if s == "wx-zhangwei"] == [f"wei {i}" for i in range(5, 10)]


async def test_a_sink_that_fails_on_one_event_still_gets_the_next(journal: Path) -> None:
    transport = SimTransport.from_settings(demo_settings(), journal)
    seen: list[str] = []

    async def sink(event: Event) -> None:
        assert isinstance(event, Message)
        if event.text == "坏":
            raise RuntimeError("a handler bug")
        seen.append(event.text)

    await transport.start(sink)
    for text in ("好", "坏", "也好"):
        transport.deliver(transport.world.message_event(transport.world.say("wx-lina", text)))
    await transport.idle()
    await transport.stop()
    assert seen == ["好", "也好"]


def test_a_person_mentioning_the_helper_in_a_room_reaches_the_bot_as_mentioning_itself(world: SimWorld) -> None:
    stored = world.say("wx-lina", "@小助手 收益", room="room-material", mentions=["helper"])
    message = world.message_event(stored)
    assert (message.room, message.sender_name, message.mentions_self, message.private) == (
        "room-material",
        "李娜",
        True,
        False,
    )


async def test_status_says_logged_in_as_the_helper_with_the_page_address(sim) -> None:
    transport, _ = sim
    status = transport.status()
    assert (status.name, status.account, status.logged_in) == ("sim", "helper", True)
    assert status.detail["page"] == "http://127.0.0.1:8080/sim"


# ----------------------------------------------------------------------------- persistence


async def test_a_second_world_on_the_same_journal_has_the_same_members_histories_and_refs(journal: Path) -> None:
    transport = SimTransport.from_settings(demo_settings(), journal)
    world = transport.world
    fill(world, BRAND_ROOM, 41)
    await transport.invite_to_room(BRAND_ROOM, "wx-lina", ref="1")
    world.accept_invitation(world.invitations_for("wx-lina")[0].id)
    await transport.send_text("wx-lina", "欢迎进群", room=False, ref="2")
    world.say("wx-lina", "谢谢", room=BRAND_ROOM)
    room = await transport.create_room("新群", ["wx-zhangwei"])
    request = world.request_friend("wx-new", "新妈妈", "你好")
    await transport.stop()

    again = SimWorld.from_settings(demo_settings(), journal)
    try:
        assert again.members(BRAND_ROOM) == world.members(BRAND_ROOM)
        assert again.rooms[BRAND_ROOM].messages == world.rooms[BRAND_ROOM].messages
        assert again.conversation("wx-lina") == world.conversation("wx-lina")
        assert again.received_refs() == ["1", "2"]
        assert again.invitations_for("wx-lina")[0].state == "accepted"
        assert again.members(room) == ["helper", "wx-zhangwei"]
        assert again.friend_requests[request.id].contact == "wx-new"
        assert again.create_room("再一个群", []) == "room-2"  # ids go on where they stopped
        assert again.say("wx-lina", "还在")["id"] not in {m["id"] for m in world.conversation("wx-lina")}
    finally:
        again.close()


def test_a_line_torn_by_a_crash_is_dropped_and_the_journal_goes_on(journal: Path, world: SimWorld) -> None:
    world.say("helper", "第一条", to="wx-lina", ref="1")
    world.close()
    with journal.open("a", encoding="utf-8") as file:
        file.write('{"op":"msg","from":"helper","to":"wx-lina","text":"半')  # the kill came mid-line
    again = SimWorld.from_settings(demo_settings(), journal)
    again.say("helper", "第二条", to="wx-lina", ref="2")
    again.close()
    third = SimWorld.from_settings(demo_settings(), journal)
    third.close()
    assert [m["text"] for m in third.said_to("wx-lina")] == ["第一条", "第二条"]
    assert third.received_refs() == ["1", "2"]


WRITER = """
import sys
from bot.transports.sim import SimWorld
from tests.support import demo_settings
world = SimWorld.from_settings(demo_settings(), sys.argv[1])
print("ready", flush=True)
for i in range(1, 1_000_000):
    world.say("helper", f"message {i}", to="wx-lina", ref=str(i))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")
def test_a_kill_9_mid_writing_keeps_every_ref_written_before_it_in_order(journal: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(journal)], stdout=subprocess.PIPE, env=env)
    assert writer.stdout is not None and writer.stdout.readline() == b"ready\n"
    enough, give_up = 200, time.monotonic() + 30
    while journal.read_bytes().count(b'"ref":"') < enough and time.monotonic() < give_up:
        time.sleep(0.005)
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)
    writer.stdout.close()

    world = SimWorld.from_settings(demo_settings(), journal)
    refs = world.received_refs()
    world.close()
    assert len(refs) >= enough
    assert refs == [str(i) for i in range(1, len(refs) + 1)]
    last = json.loads(journal.read_text(encoding="utf-8").splitlines()[-1])
    assert last["ref"] == refs[-1]

"""The wechaty transport end to end: the real python-wechaty client against a fake puppet
service speaking the wechaty-grpc protocol on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from bot.base.transport import (
    FriendRequest,
    Message,
    NeedInvite,
    RoomInvitation,
    RoomJoin,
    RoomLeave,
    UnknownTarget,
)
from bot.transports.wechaty_adapter import WechatyTransport
from tests.wechaty.puppet_server import HELPER_WXID, EventType, FakePuppetService
from tests.wechaty.support import ROOM, Sink, eventually


async def test_it_logs_in_over_start_and_event_and_reports_the_helper_account_and_its_wechat_id(
    transport: WechatyTransport, server: FakePuppetService
) -> None:
    status = transport.status()
    assert (status.name, status.account, status.logged_in, status.connected) == ("wechaty", "helper", True, True)
    assert (transport.self_id, status.detail["wechat_id"], status.detail["reconnects"]) == (HELPER_WXID, HELPER_WXID, 0)
    assert status.since is not None and transport.can_send()
    assert [call.method for call in server.calls[:2]] == ["Start", "Event"]


async def test_a_private_message_reaches_the_sink_and_the_reply_goes_to_that_contact(
    transport: WechatyTransport, server: FakePuppetService, sink: Sink
) -> None:
    message_id = server.dm("c1", "收益")
    message = await sink.first(Message)
    assert (message.id, message.sender, message.sender_name, message.text) == (message_id, "c1", "王妈妈", "收益")
    assert message.private and message.kind == "text" and not message.mentions_self

    sent = await transport.send_text("c1", "本月收益 144.00 元", room=False)
    [request] = server.requests("MessageSendText")
    assert (request.conversation_id, request.text, request.mentonal_ids) == ("c1", "本月收益 144.00 元", [])
    assert sent in server.messages


async def test_a_send_whose_read_back_fails_still_counts_as_sent_so_the_outbox_does_not_resend(
    transport: WechatyTransport, server: FakePuppetService
) -> None:
    server.failures["MessagePayload"] = GRPCError(Status.UNAVAILABLE, "busy")  # say() reads the message back
    sent = await transport.send_text("c1", "本月收益 144.00 元", room=False)
    assert [r.id for r in server.requests("MessagePayload")] == [sent]
    assert len(server.requests("MessageSendText")) == 1


async def test_a_room_mention_of_the_helper_is_flagged_and_the_reply_mentions_back(
    transport: WechatyTransport, server: FakePuppetService, sink: Sink
) -> None:
    server.room_message(ROOM, "c1", "@小助手 接龙", mentions=[HELPER_WXID])
    message = await sink.first(Message)
    assert (message.room, message.sender, message.mentions, message.mentions_self) == (ROOM, "c1", (HELPER_WXID,), True)
    assert not message.private

    await transport.send_text(ROOM, "收到", room=True, mentions=["c1"])
    [request] = server.requests("MessageSendText")
    assert (request.conversation_id, request.mentonal_ids) == (ROOM, ["c1"])
    assert request.text == "@王妈妈 收到"


async def test_an_image_goes_out_as_a_base64_file_box(transport: WechatyTransport, server: FakePuppetService) -> None:
    await transport.send_image(ROOM, b"\x89PNG leaderboard", room=True, name="leaderboard.png")
    [request] = server.requests("MessageSendFile")
    box = json.loads(request.filebox)
    assert request.conversation_id == ROOM
    assert (box["name"], base64.b64decode(box["base64"])) == ("leaderboard.png", b"\x89PNG leaderboard")


async def test_adding_a_contact_to_a_room_sends_room_add_and_a_resend_adds_nothing(
    transport: WechatyTransport, server: FakePuppetService
) -> None:
    await transport.add_to_room(ROOM, "c2")
    await transport.add_to_room(ROOM, "c2")
    assert [(r.id, r.contact_id) for r in server.requests("RoomAdd")] == [(ROOM, "c2")]
    assert "c2" in server.rooms[ROOM].member_ids


async def test_a_room_over_40_members_needs_an_invitation_which_goes_out_as_room_add(
    transport: WechatyTransport, server: FakePuppetService
) -> None:
    server.add_room("room-big", "大群", [f"p{i}" for i in range(41)])
    with pytest.raises(NeedInvite):
        await transport.add_to_room("room-big", "c2")
    assert server.requests("RoomAdd") == []
    await transport.invite_to_room("room-big", "c2")
    assert [(r.id, r.contact_id) for r in server.requests("RoomAdd")] == [("room-big", "c2")]


async def test_a_puppet_refusing_an_add_for_want_of_an_invitation_is_need_invite(
    transport: WechatyTransport, server: FakePuppetService
) -> None:
    server.failures["RoomAdd"] = GRPCError(Status.FAILED_PRECONDITION, "need invite: the owner requires approval")
    with pytest.raises(NeedInvite):
        await transport.add_to_room(ROOM, "c2")


async def test_a_room_join_arrives_and_room_members_reads_the_fresh_list(
    transport: WechatyTransport, server: FakePuppetService, sink: Sink
) -> None:
    assert await transport.room_members(ROOM) == [HELPER_WXID, "c1"]
    server.join(ROOM, ["c2", "c3"], inviter="c1", named=["c2"])  # the event names only one of two
    join = await sink.first(RoomJoin)
    assert (join.room, join.named, join.inviter) == (ROOM, ("c2",), "c1")
    assert await transport.room_members(ROOM) == [HELPER_WXID, "c1", "c2", "c3"]

    server.leave(ROOM, ["c3"], remover=HELPER_WXID)
    leave = await sink.first(RoomLeave)
    assert (leave.room, leave.named) == (ROOM, ("c3",))


async def test_a_friend_request_arrives_and_accepting_it_sends_friendship_accept(
    transport: WechatyTransport, server: FakePuppetService, sink: Sink
) -> None:
    server.add_contact("c9", "新朋友", friend=False)
    friendship_id = server.friend_request("c9", "我是王妈妈推荐的")
    request = await sink.first(FriendRequest)
    assert (request.id, request.contact, request.name, request.hello) == (
        friendship_id,
        "c9",
        "新朋友",
        "我是王妈妈推荐的",
    )

    await transport.accept_friend(friendship_id)
    await transport.accept_friend(friendship_id)  # a resend: accepted already, nothing sent
    assert [r.id for r in server.requests("FriendshipAccept")] == [friendship_id]


async def test_a_room_invitation_arrives_and_accepting_it_sends_room_invitation_accept(
    transport: WechatyTransport, server: FakePuppetService, sink: Sink
) -> None:
    invitation_id = server.room_invitation("c3", "张老师的共学群", ["c3", "c1", "c2"])
    invitation = await sink.first(RoomInvitation)
    assert (invitation.id, invitation.inviter, invitation.topic) == (invitation_id, "c3", "张老师的共学群")
    assert invitation.member_count == 3

    await transport.accept_room_invitation(invitation_id)
    assert [r.id for r in server.requests("RoomInvitationAccept")] == [invitation_id]


async def test_a_created_room_has_the_id_the_service_gave_it(
    transport: WechatyTransport, server: FakePuppetService
) -> None:
    room = await transport.create_room("小熊数学推广群 2", ["c1", "c2"])
    [request] = server.requests("RoomCreate")
    assert (request.topic, request.contact_ids) == ("小熊数学推广群 2", ["c1", "c2"])
    assert room in server.rooms


async def test_creating_a_room_is_none_where_the_puppet_cannot(
    transport: WechatyTransport, server: FakePuppetService
) -> None:
    server.failures["RoomCreate"] = GRPCError(Status.UNIMPLEMENTED, "Method not implemented")
    assert await transport.create_room("新群", ["c1", "c2"]) is None


async def test_an_unknown_contact_is_an_unknown_target_and_nothing_is_sent(
    transport: WechatyTransport, server: FakePuppetService
) -> None:
    with pytest.raises(UnknownTarget):
        await transport.send_text("nobody", "hi", room=False)
    assert server.requests("MessageSendText") == []


async def test_one_conversation_stays_in_order_at_a_slow_sink_while_another_is_not_blocked(
    transport: WechatyTransport, server: FakePuppetService, sink: Sink
) -> None:
    # The sink is slow in the room, slowest on the first message; run side by side, "1" would land last.
    sink.delay = lambda event: (0.03 if event.text == "1" else 0.01) if getattr(event, "room", None) == ROOM else 0
    first = server.room_message(ROOM, "c1", "1")
    # The first message also loads slowest: handled one task per event, it would arrive last.
    server.latency = lambda call: 0.05 if call.method == "MessagePayload" and call.request.id == first else 0.0
    for n in range(2, 21):
        server.room_message(ROOM, "c1", str(n))
    server.dm("c2", "升级")

    events = await sink.wait_for(21)
    in_room = [e.text for e in events if isinstance(e, Message) and e.room == ROOM]
    assert in_room == [str(n) for n in range(1, 21)]
    private = next(i for i, e in enumerate(events) if isinstance(e, Message) and e.private)
    assert private < 10, "the private chat waited for the slow room"
    async with asyncio.timeout(2):  # idle workers go away
        while transport.status().detail["conversations"]:
            await asyncio.sleep(0.02)


async def test_an_error_event_is_logged_and_the_transport_carries_on(
    transport: WechatyTransport, server: FakePuppetService, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    server.push(EventType.EVENT_TYPE_ERROR, {"data": "puppet hiccup"})
    server.dm("c1", "还在吗")
    assert (await sink.first(Message)).text == "还在吗"
    assert transport.status().logged_in
    assert any("puppet hiccup" in r.getMessage() for r in caplog.records if r.name == "bot.transports.wechaty_adapter")


async def test_the_supervisor_reconnects_after_the_server_closes_the_event_stream(
    transport: WechatyTransport, server: FakePuppetService, sink: Sink
) -> None:
    server.dm("c1", "在吗")
    await sink.first(Message)  # c1 is now cached by the first client
    server.end_event_streams()
    await server.wait_for(lambda: server.streams_opened == 2)
    assert await transport.wait_logged_in(timeout=3)
    assert [c.method for c in server.calls if c.method in ("Start", "Event")] == ["Start", "Event"] * 2
    status = transport.status()
    assert status.logged_in and status.detail["reconnects"] == 1
    assert status.detail["last_error"] == "the puppet service closed the event stream"

    await transport.send_text("c1", "在的", room=False)  # through the new client, not a stale cache
    assert [r.conversation_id for r in server.requests("MessageSendText")] == ["c1"]


async def test_the_supervisor_retries_while_the_service_is_down_and_logs_in_when_it_is_back(
    transport: WechatyTransport, server: FakePuppetService, sink: Sink
) -> None:
    await server.stop()
    await eventually(lambda: transport.status().detail["reconnects"] >= 2)
    status = transport.status()
    assert not status.logged_in and not status.connected and not transport.can_send()
    assert "ConnectionRefusedError" in status.detail["last_error"]

    await server.start(port=server.port)  # the same service, back on its port
    assert await transport.wait_logged_in(timeout=3)
    server.dm("c1", "回来了")
    assert (await sink.first(Message)).text == "回来了"

"""The promises of ``bot.base.transport.Transport``, checked against every transport: the
simulator, wechaty against the gRPC puppet service, and the tests' fake — once with personal
WeChat's capabilities, once declaring none. What a transport declares it can do must work, as
seen from the far side (the world, the puppet service, the fake's records); what it does not
declare must refuse with ``Unsupported``, never quietly do nothing."""

from __future__ import annotations

import asyncio

import pytest

from bot.base.transport import (
    Capabilities,
    FriendRequest,
    Message,
    NeedInvite,
    NotConnected,
    RoomInvitation,
    RoomJoin,
    UnknownTarget,
    Unsupported,
)
from tests.contract.backends import Backend
from tests.sim_support import png
from tests.wechaty.support import ROOM, eventually


async def test_a_private_message_reaches_the_sink_once_started(backend: Backend) -> None:
    await backend.person_says("c1", "收益")

    message = await backend.sink.first(Message)
    assert (message.sender, message.sender_name, message.text) == ("c1", "王妈妈", "收益")
    assert message.private and message.kind == "text" and not message.mentions_self


async def test_a_text_reaches_the_person_and_the_room_it_was_sent_to(backend: Backend) -> None:
    transport = backend.transport

    assert await transport.send_text("c1", "本月收益 144.00 元", room=False)
    assert await transport.send_text(ROOM, "今日接龙开始", room=True)

    assert [a.text for a in backend.texts_to("c1", room=False)] == ["本月收益 144.00 元"]
    assert [a.text for a in backend.texts_to(ROOM, room=True)] == ["今日接龙开始"]


async def test_a_mention_of_the_helper_is_flagged_and_a_reply_mentions_back_where_declared(backend: Backend) -> None:
    transport = backend.transport
    await backend.person_says("c1", "@小助手 接龙", room=ROOM, mention_helper=True)

    message = await backend.sink.first(Message)
    assert message.room == ROOM and not message.private
    assert message.mentions_self and transport.self_id in message.mentions

    if transport.capabilities.mentions:
        await transport.send_text(ROOM, "收到", room=True, mentions=["c1"])
        [arrived] = backend.texts_to(ROOM, room=True)
        assert arrived.mentions == ("c1",) and arrived.text.endswith("收到")
    else:
        with pytest.raises(Unsupported):
            await transport.send_text(ROOM, "收到", room=True, mentions=["c1"])
        assert backend.texts_to(ROOM, room=True) == []


async def test_room_members_is_the_fresh_list_even_when_a_join_names_one_of_several(backend: Backend) -> None:
    transport = backend.transport
    assert set(await transport.room_members(ROOM)) == {transport.self_id, "c1"}

    await backend.people_join(ROOM, ["c2", "c3"], named=["c2"])

    join = await backend.sink.first(RoomJoin)
    assert (join.room, join.named) == (ROOM, ("c2",))
    assert set(await transport.room_members(ROOM)) == {transport.self_id, "c1", "c2", "c3"}


async def test_a_direct_add_works_up_to_the_declared_limit_and_needs_an_invitation_above(backend: Backend) -> None:
    transport = backend.transport
    limit = transport.capabilities.direct_add_limit
    others = [f"p{i}" for i in range(1, limit + 1)]
    backend.make_room("room-over", others)  # the helper and `limit` others: one over the limit
    backend.make_room("room-at", others[:-1])  # exactly at the limit (where there is one)

    with pytest.raises(NeedInvite):
        await transport.add_to_room("room-over", "c2")
    assert not backend.in_room("room-over", "c2")

    if limit:
        await transport.add_to_room("room-at", "c2")
        await transport.add_to_room("room-at", "c2")  # a resend of an add that went through
        assert set(await transport.room_members("room-at")) == {transport.self_id, *others[:-1], "c2"}


async def test_an_invitation_card_reaches_the_person_where_invitations_are_declared(backend: Backend) -> None:
    transport = backend.transport
    if transport.capabilities.room_invitations:
        await transport.invite_to_room(ROOM, "c2")
        assert backend.invited(ROOM, "c2")
    else:
        with pytest.raises(Unsupported):
            await transport.invite_to_room(ROOM, "c2")
        assert not backend.invited(ROOM, "c2")


async def test_a_friend_request_arrives_and_accepting_it_twice_befriends_once(backend: Backend) -> None:
    transport = backend.transport
    if not transport.capabilities.friend_requests:
        with pytest.raises(Unsupported):
            await transport.accept_friend("fr-1")
        return
    request_id = await backend.friend_request("c9", "新朋友", "我是王妈妈推荐的")

    request = await backend.sink.first(FriendRequest)
    assert (request.id, request.contact, request.name) == (request_id, "c9", "新朋友")
    assert request.hello == "我是王妈妈推荐的"
    await transport.accept_friend(request_id)
    await transport.accept_friend(request_id)  # a resend: accepted already
    assert backend.befriended("c9")


async def test_an_invitation_into_someones_room_arrives_and_accepting_it_takes_the_helper_in(backend: Backend) -> None:
    transport = backend.transport
    if not transport.capabilities.accept_room_invitations:
        with pytest.raises(Unsupported):
            await transport.accept_room_invitation("inv-1")
        return
    invitation_id, room = await backend.invite_helper("c3", "张老师的共学群")

    invitation = await backend.sink.first(RoomInvitation)
    assert (invitation.id, invitation.inviter, invitation.topic) == (invitation_id, "c3", "张老师的共学群")
    await transport.accept_room_invitation(invitation_id)
    await transport.accept_room_invitation(invitation_id)  # a resend: in already
    assert backend.helper_in(room)


async def test_a_created_room_holds_the_helper_and_the_people_given_where_declared(backend: Backend) -> None:
    transport = backend.transport
    if transport.capabilities.create_rooms:
        room = await transport.create_room("小熊数学推广2群", ["c1", "c2"])
        assert room
        assert {transport.self_id, "c1", "c2"} <= set(await transport.room_members(room))
    else:
        with pytest.raises(Unsupported):
            await transport.create_room("小熊数学推广2群", ["c1", "c2"])


async def test_removing_a_member_takes_them_out_where_declared(backend: Backend) -> None:
    transport = backend.transport
    if transport.capabilities.remove_members:
        await transport.remove_from_room(ROOM, "c1")
        await transport.remove_from_room(ROOM, "c1")  # a resend: gone already
        assert not backend.in_room(ROOM, "c1")
        assert "c1" not in await transport.room_members(ROOM)
    else:
        with pytest.raises(Unsupported):
            await transport.remove_from_room(ROOM, "c1")
        assert backend.in_room(ROOM, "c1")


async def test_a_picture_reaches_the_room_where_pictures_are_declared(backend: Backend) -> None:
    transport = backend.transport
    if transport.capabilities.send_images:
        assert await transport.send_image(ROOM, png(), room=True, name="leaderboard.png")
        assert backend.images_to(ROOM, room=True) == 1
    else:
        with pytest.raises(Unsupported):
            await transport.send_image(ROOM, png(), room=True, name="leaderboard.png")
        assert backend.images_to(ROOM, room=True) == 0


async def test_the_picture_a_person_sent_can_be_read_back_where_declared(backend: Backend) -> None:
    transport = backend.transport
    sent = await backend.person_sends_image("c1", png())

    message = await backend.sink.first(Message)
    assert (message.id, message.kind, message.sender) == (sent, "image", "c1")
    if transport.capabilities.image_bytes:
        assert await transport.image_bytes(message.id) == png()
        with pytest.raises(UnknownTarget):
            await transport.image_bytes("m-404")
    else:
        with pytest.raises(Unsupported):
            await transport.image_bytes(message.id)


async def test_once_started_it_is_connected_logged_in_knows_the_helpers_id_and_can_send(backend: Backend) -> None:
    transport = backend.transport
    status = transport.status()

    assert isinstance(transport.capabilities, Capabilities)
    assert transport.self_id and transport.account
    assert (status.name, status.account) == (transport.name, transport.account)
    assert status.connected and status.logged_in and status.since is not None
    assert transport.can_send()
    async with asyncio.timeout(1):
        await transport.ready()


async def test_while_disconnected_sends_are_refused_as_not_connected_and_ready_waits(backend: Backend) -> None:
    if not backend.can_disconnect:
        pytest.skip("the simulator is in process: it has no link to lose")
    transport = backend.transport
    await backend.disconnect()
    await eventually(lambda: not transport.can_send())

    with pytest.raises(NotConnected):
        await transport.send_text("c1", "在吗", room=False)
    waiting = asyncio.ensure_future(transport.ready())
    await asyncio.sleep(0.05)
    assert not waiting.done()

    await backend.reconnect()
    async with asyncio.timeout(5):
        await waiting
    await transport.send_text("c1", "在的", room=False)
    assert [a.text for a in backend.texts_to("c1", room=False)] == ["在的"]


async def test_stopping_twice_is_fine_and_nothing_reaches_the_sink_after(backend: Backend) -> None:
    await backend.transport.stop()
    await backend.transport.stop()

    await backend.person_says("c1", "还在吗")
    await asyncio.sleep(0.1)
    assert backend.sink.events == []

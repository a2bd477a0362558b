"""The ``wecom`` transport against the fake WeCom server: callbacks become the neutral events,
sends become group-message tasks and 微信客服 messages, WeCom's rules and errors surface as the
interface's errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.base.context import FixedClock
from bot.base.transport import (
    FriendRequest,
    Message,
    NeedInvite,
    OutsideWindow,
    Refused,
    RoomJoin,
    RoomLeave,
    TransportError,
    Uncertain,
    UnknownTarget,
    Unsupported,
)
from tests.wechaty.support import eventually
from tests.wecom.transport_support import HELPER, Wired, wired


@pytest.fixture
async def w(clock: FixedClock, tmp_path: Path) -> AsyncIterator[Wired]:
    async with wired(clock, tmp_path) as running:
        yield running


async def test_wecoms_url_check_is_answered_with_the_decrypted_echo(w: Wired) -> None:
    assert await w.fake.verify_url("echo-4711") == (200, "echo-4711")


async def test_a_customer_adding_the_helper_by_a_distributors_code_arrives_with_the_code_and_is_welcomed(
    w: Wired,
) -> None:
    code = await w.transport.contact_code("DEMOC001")
    assert code.url and code.config_id in w.fake.contacts.ways
    customer = w.fake.contacts.add_customer("陈静")

    await w.fake.contacts.customer_adds(customer, config_id=code.config_id)

    request = await w.sink.first(FriendRequest)
    assert (request.contact, request.name, request.hello) == (customer, "陈静", "DEMOC001")
    await eventually(lambda: bool(w.fake.contacts.welcomes))
    [welcome] = w.fake.contacts.welcomes
    assert (welcome.external_userid, welcome.text) == (customer, "欢迎！推荐码 DEMOC001")
    with pytest.raises(Unsupported):
        await w.transport.accept_friend(request.id)  # nothing to accept: the add is done


async def test_a_retried_callback_reaches_the_bot_once(w: Wired) -> None:
    customer = w.fake.contacts.add_customer("陈静")
    await w.fake.contacts.customer_adds(customer, userid=HELPER)
    await w.fake.contacts.customer_adds(customer, userid=HELPER)  # the same second, the same event

    await w.sink.first(FriendRequest)
    await w.transport.drain()
    assert len(w.sink.events) == 1
    assert w.transport.status().detail["callback_retries"] == 1


async def test_a_customer_message_to_wecom_kf_arrives_as_a_private_message_and_may_be_answered_five_times(
    w: Wired,
) -> None:
    customer = w.fake.contacts.add_customer("王妈妈")
    await w.fake.contacts.customer_adds(customer, userid=HELPER)
    await w.fake.kf.customer_says(w.open_kfid, customer, "收益")

    message = await w.sink.first(Message)
    assert (message.sender, message.sender_name, message.text, message.private) == (customer, "王妈妈", "收益", True)
    for n in range(5):
        await w.transport.send_text(customer, f"第{n + 1}条", room=False, ref=str(n))
    with pytest.raises(OutsideWindow):
        await w.transport.send_text(customer, "第6条", room=False)
    assert w.fake.kf.received(customer) == [f"第{n + 1}条" for n in range(5)]


async def test_nobody_gets_a_private_message_outside_the_48_hour_window(w: Wired) -> None:
    customer = w.fake.contacts.add_customer("王妈妈")
    with pytest.raises(OutsideWindow):
        await w.transport.send_text(customer, "你好", room=False)  # never wrote
    await w.fake.kf.customer_says(w.open_kfid, customer, "在吗")
    await w.sink.first(Message)
    w.clock.advance(hours=48, seconds=1)

    with pytest.raises(OutsideWindow):
        await w.transport.send_text(customer, "在的", room=False)
    assert w.fake.kf.received(customer) == []


async def test_a_customer_joining_by_the_join_code_and_leaving_become_room_events_from_the_member_list(
    w: Wired,
) -> None:
    room = await w.fake.groups.create_group(HELPER, "星火思维推广1群")
    code = await w.transport.join_code([room], name="星火思维推广", state="xinghuo")
    customer = w.fake.contacts.add_customer("李爸爸")

    assert await w.fake.groups.customer_scans(code.config_id, customer) == room
    join = await w.sink.first(RoomJoin)
    assert (join.room, join.named) == (room, (customer,))
    assert set(await w.transport.room_members(room)) == {HELPER, customer}

    await w.fake.groups.leave(room, customer)
    leave = await w.sink.first(RoomLeave)
    assert (leave.room, leave.named) == (room, (customer,))


async def test_a_group_post_is_only_proposed_and_reaches_the_group_once_the_member_confirms(w: Wired) -> None:
    room = await w.fake.groups.create_group(HELPER, "星火思维推广1群")

    msgid = await w.transport.send_text(room, "今日接龙：王妈妈 1 单", room=True)

    assert w.fake.groupmsg.received(room) == []
    assert w.fake.groupmsg.confirm(msgid, HELPER) == {room: 1}
    assert w.fake.groupmsg.received(room) == ["今日接龙：王妈妈 1 单"]


async def test_what_wecom_cannot_do_is_refused_never_silently_skipped(w: Wired) -> None:
    room = await w.fake.groups.create_group(HELPER, "星火思维推广1群")
    with pytest.raises(NeedInvite):
        await w.transport.add_to_room(room, "wm-someone")
    for refused in (w.transport.invite_to_room(room, "wm-someone"), w.transport.remove_from_room(room, HELPER),
                    w.transport.create_room("新群", ["a", "b"]), w.transport.send_text(room, "@", room=True,
                                                                                       mentions=["a"])):
        with pytest.raises(Unsupported):
            await refused
    with pytest.raises((UnknownTarget, Refused)) as not_ours:  # in fail_list, or refused outright
        await w.transport.send_text("wr-not-ours", "你好", room=True)
    assert not not_ours.value.retryable


async def test_a_token_revoked_mid_run_is_fetched_again_and_the_post_goes_through(w: Wired) -> None:
    room = await w.fake.groups.create_group(HELPER, "星火思维推广1群")
    await w.transport.send_text(room, "第一条", room=True)
    w.fake.revoke_tokens()

    await w.transport.send_text(room, "第二条", room=True)

    assert len(w.fake.groupmsg.templates) == 2
    assert len(w.fake.calls_to("gettoken")) == 2


async def test_wecoms_error_codes_become_the_interfaces_errors_with_code_and_meaning(w: Wired) -> None:
    room = await w.fake.groups.create_group(HELPER, "星火思维推广1群")
    w.fake.fail_next("externalcontact/add_msg_template", 60011)
    with pytest.raises(Refused, match="60011") as refused:
        await w.transport.send_text(room, "公告", room=True)
    assert "no permission" in str(refused.value) and not refused.value.retryable

    w.fake.fail_next("externalcontact/add_msg_template", 45009)
    with pytest.raises(TransportError) as limited:
        await w.transport.send_text(room, "公告", room=True)
    assert limited.value.retryable  # the outbox backs off and tries again

    w.clock.advance(seconds=61)  # the block is over
    w.fake.hang_next("externalcontact/add_msg_template")
    with pytest.raises(Uncertain):
        await w.transport.send_text(room, "公告", room=True)


async def test_after_stopping_callbacks_are_refused_so_wecom_tries_again_and_nothing_reaches_the_bot(
    w: Wired,
) -> None:
    await w.transport.stop()
    await w.transport.stop()
    customer = w.fake.contacts.add_customer("陈静")

    await w.fake.contacts.customer_adds(customer, userid=HELPER)

    assert [t.status for t in w.fake.callback_tries] == [500, 500, 500]
    assert w.sink.events == []


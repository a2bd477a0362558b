"""The fake's group-message rules through the real client: nothing reaches a group before a
member confirms, the monthly cap per group and customer, reminders and cancellation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.base.context import FixedClock
from bot.transports.wecom import PermanentError, WeComClient
from bot.transports.wecom.results import Attachment, ChatType, SendStatus, TaskStatus
from tests.wecom.fake_base import REMINDED_ENOUGH
from tests.wecom.fake_server import FakeWeCom


async def manager_with_groups(fake: FakeWeCom, count: int = 2) -> list[str]:
    fake.contacts.add_staff("manager", "王经理")
    fake.contacts.add_staff("other", "李经理")
    return [await fake.groups.create_group("manager", f"星火思维{i + 1}群") for i in range(count)]


async def test_a_relay_line_reaches_no_group_until_the_manager_confirms(fake: FakeWeCom, client: WeComClient) -> None:
    chats = await manager_with_groups(fake)
    task = await client.add_msg_template(chat_type=ChatType.GROUP, sender="manager", chat_ids=chats,
                                         text="出单接龙 1. 陈** 星火思维秋季课")
    assert task.fail_list == ()
    assert [fake.groupmsg.received(c) for c in chats] == [[], []]
    [pending] = (await client.get_groupmsg_task(task.msgid)).items
    assert (pending.userid, pending.status, pending.sent) == ("manager", TaskStatus.UNSENT, None)
    unsent = await client.get_groupmsg_send_result(task.msgid, "manager")
    assert {r.chat_id: r.status for r in unsent.items} == dict.fromkeys(chats, SendStatus.NOT_SENT)

    fake.groupmsg.confirm(task.msgid, "manager")

    assert [fake.groupmsg.received(c) for c in chats] == [["出单接龙 1. 陈** 星火思维秋季课"]] * 2
    [done] = (await client.get_groupmsg_task(task.msgid)).items
    assert done.status == TaskStatus.SENT and done.sent is not None
    sent = await client.get_groupmsg_send_result(task.msgid, "manager")
    assert {r.chat_id: r.status for r in sent.items} == dict.fromkeys(chats, SendStatus.SENT)


async def test_groups_the_sender_does_not_own_are_refused_at_once(fake: FakeWeCom, client: WeComClient) -> None:
    chats = await manager_with_groups(fake)
    foreign = await fake.groups.create_group("other", "别人的群")
    task = await client.add_msg_template(chat_type="group", sender="manager", chat_ids=[*chats, foreign],
                                         text="公告")
    assert task.fail_list == (foreign,)


@pytest.mark.parametrize("month_start, days", [(datetime(2026, 10, 31, 16, tzinfo=UTC), 30),
                                               (datetime(2026, 11, 30, 16, tzinfo=UTC), 31)])
async def test_a_group_gets_as_many_group_messages_a_month_as_the_month_has_days(
        fake: FakeWeCom, client: WeComClient, clock: FixedClock, month_start: datetime, days: int) -> None:
    clock.at = month_start  # midnight of the 1st in Shanghai
    [chat_id] = await manager_with_groups(fake, 1)
    statuses = []
    for n in range(days + 1):
        task = await client.add_msg_template(chat_type="group", sender="manager", chat_ids=[chat_id],
                                             text=f"今日战报 {n + 1}")
        statuses.append(fake.groupmsg.confirm(task.msgid, "manager")[chat_id])
        clock.advance(hours=17)  # all within the month
    assert statuses == [SendStatus.SENT] * days + [SendStatus.CAP_REACHED]
    assert len(fake.groupmsg.received(chat_id)) == days
    last = await client.get_groupmsg_send_result(task.msgid, "manager")
    assert [r.status for r in last.items] == [SendStatus.CAP_REACHED]


async def test_the_cap_starts_again_with_the_next_month_in_shanghai_time(fake: FakeWeCom, client: WeComClient,
                                                                         clock: FixedClock) -> None:
    clock.at = datetime(2026, 11, 1, 0, tzinfo=UTC)
    [chat_id] = await manager_with_groups(fake, 1)
    for _ in range(30):
        task = await client.add_msg_template(chat_type="group", sender="manager", chat_ids=[chat_id], text="战报")
        fake.groupmsg.confirm(task.msgid, "manager")
    clock.at = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 00:00 on 1 December in Shanghai
    task = await client.add_msg_template(chat_type="group", sender="manager", chat_ids=[chat_id], text="12月战报")
    assert fake.groupmsg.confirm(task.msgid, "manager") == {chat_id: SendStatus.SENT}


async def test_a_single_chat_task_goes_to_the_member_who_has_the_customer(fake: FakeWeCom,
                                                                          client: WeComClient) -> None:
    fake.contacts.add_staff("helper")
    known = fake.contacts.add_customer("陈静")
    stranger = fake.contacts.add_customer("路人")
    await fake.contacts.customer_adds(known, userid="helper")
    task = await client.add_msg_template(chat_type="single", external_userids=[known, stranger], text="本周收益")
    assert task.fail_list == (stranger,)
    await fake.contacts.customer_removes("helper", known)
    assert fake.groupmsg.confirm(task.msgid, "helper") == {known: SendStatus.NOT_FRIEND}
    assert fake.groupmsg.received(known) == []


async def test_a_task_can_be_reminded_three_times_a_day_and_cancelled_for_good(
        fake: FakeWeCom, client: WeComClient, clock: FixedClock) -> None:
    chats = await manager_with_groups(fake)
    task = await client.add_msg_template(chat_type="group", sender="manager", chat_ids=chats, text="红包来啦")
    for _ in range(3):
        await client.remind_groupmsg_send(task.msgid)
    with pytest.raises(PermanentError) as fourth:
        await client.remind_groupmsg_send(task.msgid)
    assert fourth.value.code == REMINDED_ENOUGH
    clock.advance(hours=24)
    await client.remind_groupmsg_send(task.msgid)
    await client.cancel_groupmsg_send(task.msgid)
    with pytest.raises(RuntimeError, match="cancelled"):
        fake.groupmsg.confirm(task.msgid, "manager")
    assert [fake.groupmsg.received(c) for c in chats] == [[], []]


async def test_the_tasks_of_a_period_are_listed_with_their_texts(fake: FakeWeCom, client: WeComClient,
                                                                 clock: FixedClock) -> None:
    chats = await manager_with_groups(fake)
    start = clock.now()
    first = await client.add_msg_template(chat_type="group", sender="manager", chat_ids=chats, text="第一条")
    clock.advance(hours=1)
    await client.add_msg_template(chat_type="group", sender="manager", chat_ids=chats, text="第二条")
    page = await client.get_groupmsg_list_v2(chat_type="group", start=start, end=start + timedelta(minutes=30))
    assert [(m.msgid, m.creator, m.text) for m in page.items] == [(first.msgid, "manager", "第一条")]


async def test_an_expired_image_in_a_group_message_is_refused(fake: FakeWeCom, client: WeComClient,
                                                              clock: FixedClock) -> None:
    chats = await manager_with_groups(fake)
    upload = await client.upload_media("image", "board.png", b"\x89PNG board")
    clock.advance(days=3, seconds=1)
    with pytest.raises(PermanentError) as refused:
        await client.add_msg_template(chat_type="group", sender="manager", chat_ids=chats, text="排行榜",
                                      attachments=[Attachment.image(media_id=upload.media_id)])
    assert refused.value.code == 40007

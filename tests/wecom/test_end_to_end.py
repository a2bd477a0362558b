"""The bot on WeCom, end to end: the fake WeCom server, the wecom transport, the dispatcher with
the routers, the outbox sender and the group-task follower, on one database and one clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.base.env import Env
from bot.base.outbox import queue_row, queue_text
from bot.runtime import group_tasks
from models import Distributor
from models.statuses import OutboxStatus
from tests.wechaty.support import eventually
from tests.wecom.bot_support import BRAND_ROOMS, Bot, running_bot
from tests.wecom.fake_groups import Group, Member
from tests.wecom.transport_support import HELPER

REMIND, EXPIRE = timedelta(minutes=60), timedelta(hours=24)


@pytest.fixture
async def bot(services: Env, tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(services, tmp_path) as running:
        yield running


async def test_a_newcomer_adding_the_helper_by_a_distributors_code_is_welcomed_and_registered_under_them(bot: Bot):
    code = await bot.w.transport.contact_code("DEMOC001")
    newcomer = bot.w.fake.contacts.add_customer("陈静")

    await bot.w.fake.contacts.customer_adds(newcomer, config_id=code.config_id)
    await eventually(lambda: bool(bot.w.fake.contacts.welcomes))
    await bot.settle()

    [welcome] = bot.w.fake.contacts.welcomes
    assert welcome.external_userid == newcomer and "DEMOC001" in welcome.text
    async with bot.env.db.reading() as session:
        person = await session.scalar(select(Distributor).where(Distributor.contact_id == newcomer))
        recruiter = await session.scalar(select(Distributor).where(Distributor.code == "DEMOC001"))
    assert person is not None and recruiter is not None and person.recruiter_id == recruiter.id


async def test_a_brand_keyword_through_wecom_kf_is_answered_with_the_brands_join_code(bot: Bot):
    lina = bot.customer("wx-lina", "李娜")

    await bot.w.fake.kf.customer_says(bot.w.open_kfid, lina, "数学")
    await eventually(lambda: bool(bot.w.fake.kf.stream))
    await bot.settle()

    [answer] = bot.w.fake.kf.received(lina)
    [way] = bot.w.fake.groups.ways.values()
    assert answer.startswith("星火思维推广群：扫码或点开链接就能进群") and way.qr_code in answer
    assert way.chat_ids == list(BRAND_ROOMS) and way.auto_create_room
    assert [r.kind for r in await bot.rows()] == ["text"]  # nobody added, nobody invited


async def test_a_pushs_relay_lines_become_one_proposed_task_sent_once_the_member_confirms(bot: Bot):
    async with bot.env.context() as ctx:
        for n in range(3):
            queue_text(ctx, target=BRAND_ROOMS[0], template="relay_line", room=True, coalesce_key="relay",
                       data={"number": n + 1, "seller": f"家长{n + 1}", "course": "思维课", "quantity": 1})
    await bot.settle()

    rows = await bot.rows()
    assert {r.status for r in rows} == {OutboxStatus.PROPOSED} and len({r.task_id for r in rows}) == 1
    assert bot.w.fake.groupmsg.received(BRAND_ROOMS[0]) == []  # nothing reaches the group unconfirmed
    bot.w.fake.groupmsg.confirm(rows[0].task_id or "", HELPER)
    done = await group_tasks.follow(bot.env, bot.w.transport, remind_after=REMIND, expire_after=EXPIRE)

    assert done.sent == 1
    assert {r.status for r in await bot.rows()} == {OutboxStatus.SENT}
    [digest] = bot.w.fake.groupmsg.received(BRAND_ROOMS[0])
    assert len(digest.splitlines()) == 3


async def test_an_unconfirmed_task_is_reminded_then_withdrawn_and_shown_expired(bot: Bot):
    async with bot.env.context() as ctx:
        queue_text(ctx, target=BRAND_ROOMS[0], template="relay_line", room=True,
                   data={"number": 1, "seller": "家长1", "course": "思维课", "quantity": 1})
    await bot.settle()
    [row] = await bot.rows()

    bot.w.clock.advance(minutes=61)
    assert (await group_tasks.follow(bot.env, bot.w.transport, remind_after=REMIND, expire_after=EXPIRE)).reminded == 1
    assert (await group_tasks.follow(bot.env, bot.w.transport, remind_after=REMIND, expire_after=EXPIRE)).waiting == 1
    bot.w.clock.advance(hours=24)
    assert (await group_tasks.follow(bot.env, bot.w.transport, remind_after=REMIND, expire_after=EXPIRE)).expired == 1

    [expired] = await bot.rows()
    assert expired.status == OutboxStatus.EXPIRED and "nobody confirmed it within 24 h" in expired.last_error
    assert bot.w.fake.groupmsg.templates[row.task_id or ""].cancelled


async def test_a_reply_outside_the_48_hour_window_waits_for_the_persons_next_message(bot: Bot):
    lina = bot.customer("wx-lina", "李娜")
    await bot.w.fake.kf.customer_says(bot.w.open_kfid, lina, "收益")
    await eventually(lambda: bool(bot.w.fake.kf.stream))
    await bot.w.transport.drain()
    await bot.dispatcher._drained()
    bot.w.clock.advance(hours=49)  # the answer was not sent in time: the window has closed

    await bot.settle()
    [held] = await bot.rows()
    assert held.status == OutboxStatus.HELD and "48 hours" in held.last_error
    assert bot.w.fake.kf.received(lina) == []

    await bot.w.fake.kf.customer_says(bot.w.open_kfid, lina, "在吗")
    await eventually(lambda: len(bot.w.fake.kf.stream) == 2)
    await bot.settle()

    assert bot.w.fake.kf.received(lina)[0] == held.text  # the held answer went out first


async def test_a_token_expiring_mid_run_loses_no_post(bot: Bot):
    for room in BRAND_ROOMS:
        async with bot.env.context() as ctx:
            queue_text(ctx, target=room, template="relay_line", room=True,
                       data={"number": 1, "seller": "家长1", "course": "思维课", "quantity": 1})
        await bot.settle()
        bot.w.clock.advance(hours=2, minutes=1)  # the access token (7200 s) has expired

    rows = await bot.rows()
    assert [r.status for r in rows] == [OutboxStatus.PROPOSED, OutboxStatus.PROPOSED]
    assert len(bot.w.fake.groupmsg.templates) == 2
    assert len(bot.w.fake.calls_to("gettoken")) == 2


async def test_a_days_hourly_pushes_become_one_confirmed_digest_a_day_within_the_cap(bot: Bot):
    room = BRAND_ROOMS[0]
    for hour in range(14):  # 10:00 to 23:00 Shanghai, a push of two lines each hour
        async with bot.env.context() as ctx:
            for n in (1, 2):
                queue_text(ctx, target=room, template="relay_line", room=True, coalesce_key="relay",
                           data={"number": n, "seller": f"家长{hour}", "course": "思维课", "quantity": 1})
        await bot.settle()
        for template in list(bot.w.fake.groupmsg.templates.values()):
            if not template.tasks[HELPER].status:
                bot.w.fake.groupmsg.confirm(template.msgid, HELPER)  # the course manager confirms
        await group_tasks.follow(bot.env, bot.w.transport, remind_after=REMIND, expire_after=EXPIRE)
        bot.w.clock.advance(hours=1)
    bot.w.clock.advance(hours=1)  # past midnight: the next window
    await bot.settle()
    for template in list(bot.w.fake.groupmsg.templates.values()):
        if not template.tasks[HELPER].status:
            bot.w.fake.groupmsg.confirm(template.msgid, HELPER)
    await group_tasks.follow(bot.env, bot.w.transport, remind_after=REMIND, expire_after=EXPIRE)

    received = bot.w.fake.groupmsg.received(room)
    assert len(received) == 2  # the first push at once, the rest as the next day's digest
    assert sum(len(text.splitlines()) for text in received) == 28  # every line delivered
    rows = await bot.rows()
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert all(s == 1 for t in bot.w.fake.groupmsg.templates.values() for s in
               (r.status for r in t.tasks[HELPER].recipients))  # none refused for the cap


async def test_a_colearning_relay_to_fifty_groups_is_one_task_confirmed_once_within_every_groups_quota(bot: Bot):
    rooms = [f"room-colearn-{n:02d}" for n in range(50)]
    for room in rooms:
        group = Group(room, room, HELPER, bot.w.clock.now())
        group.members[HELPER] = Member(HELPER, 1, bot.w.clock.now(), 1)
        bot.w.fake.groups.groups[room] = group
    for minute in range(3):  # the lecturer speaks three times in a minute: relayed to every group
        async with bot.env.context() as ctx:
            for room in rooms:
                queue_text(ctx, target=room, template="relay_line", room=True, coalesce_key="colearn",
                           data={"number": minute + 1, "seller": "讲师", "course": "共学营", "quantity": 1})
        await bot.settle()
        bot.w.clock.advance(minutes=1)

    [task] = bot.w.fake.groupmsg.templates.values()  # one task for the 50 groups (chat_id_list)
    assert bot.w.fake.groupmsg.confirm(task.msgid, HELPER) == dict.fromkeys(rooms, 1)  # confirmed once
    assert all(bot.w.fake.groupmsg.received(room) == ["1. 讲** 出单 共学营 ×1"] for room in rooms)
    waiting = [r for r in await bot.rows() if r.status == OutboxStatus.QUEUED]
    assert len(waiting) == 100 and sum("one post per window of a day" in r.last_error for r in waiting) == 50
    looks = len(bot.w.fake.calls_to("externalcontact/get_groupmsg_task"))
    done = await group_tasks.follow(bot.env, bot.w.transport, remind_after=REMIND, expire_after=EXPIRE)
    assert done.sent == 50  # each group's row settled from its own send result
    assert len(bot.w.fake.calls_to("externalcontact/get_groupmsg_task")) - looks == 1  # read once, not 50 times

    bot.w.clock.advance(days=1)  # the next window: the waiting lines as one digest, one task again
    await bot.settle()
    later = [t for t in bot.w.fake.groupmsg.templates.values() if t.msgid != task.msgid]
    assert len(later) == 1 and len(later[0].text.splitlines()) == 2
    assert bot.w.fake.groupmsg.confirm(later[0].msgid, HELPER) == dict.fromkeys(rooms, 1)  # within each cap


async def test_a_leaderboard_poster_to_a_capped_group_waits_for_the_next_window_like_any_post(bot: Bot):
    import base64

    from tests.sim_support import png

    room = BRAND_ROOMS[0]
    async with bot.env.context() as ctx:
        queue_text(ctx, target=room, template="relay_line", room=True,
                   data={"number": 1, "seller": "家长1", "course": "思维课", "quantity": 1})
        queue_row(ctx, kind="image", target=room, target_is_room=True, template="leaderboard_poster",
                  text="排行榜海报", payload={"image_b64": base64.b64encode(png()).decode(), "name": "board.png"})
    await bot.settle()

    text, poster = await bot.rows()
    assert text.status == OutboxStatus.PROPOSED
    assert poster.status == OutboxStatus.QUEUED and "one post per window" in poster.last_error
    assert len(bot.w.fake.groupmsg.templates) == 1


async def test_a_digest_too_long_for_one_group_message_lists_the_oldest_lines_and_counts_the_rest(bot: Bot):
    room = BRAND_ROOMS[0]
    async with bot.env.context() as ctx:
        queue_text(ctx, target=room, template="announcement", room=True,
                   data={"brand": "星火思维", "text": "今晚 8 点直播"})
    await bot.settle()  # the day's first post; the lines below wait for the next window
    async with bot.env.context() as ctx:
        for n in range(300):
            queue_text(ctx, target=room, template="relay_line", room=True, coalesce_key="relay",
                       data={"number": n + 1, "seller": f"家长{n}", "course": "思维训练营", "quantity": 1})
    await bot.settle()
    bot.w.clock.advance(days=1)
    await bot.settle()

    [announced, digest] = [t.text for t in bot.w.fake.groupmsg.templates.values()]
    assert announced.startswith("📢") and len(digest.encode()) <= 4000  # WeCom takes 4000 bytes
    listed = digest.splitlines()
    assert listed[0].startswith("1. ") and listed[-1].startswith("……还有 ")
    assert int(listed[-1].split()[1]) + len(listed) - 1 == 300  # every line listed or counted
    assert {r.status for r in await bot.rows()} == {OutboxStatus.PROPOSED}


async def test_a_task_shared_by_groups_whose_posts_were_queued_at_different_times_expires_in_every_group(bot: Bot):
    first, second = BRAND_ROOMS
    for room in BRAND_ROOMS:  # each group has had its post of the day
        async with bot.env.context() as ctx:
            queue_text(ctx, target=room, template="relay_line", room=True,
                       data={"number": 1, "seller": "家长1", "course": "思维课", "quantity": 1})
    await bot.settle()
    for template in bot.w.fake.groupmsg.templates.values():
        bot.w.fake.groupmsg.confirm(template.msgid, HELPER)
    await group_tasks.follow(bot.env, bot.w.transport, remind_after=REMIND, expire_after=EXPIRE)
    for room in (first, second):  # the same announcement for both, an hour apart: it waits for the next day
        bot.w.clock.advance(hours=1)
        async with bot.env.context() as ctx:
            queue_row(ctx, target=room, kind="text", text="今晚 8 点共学开始", template="announcement",
                      target_is_room=True)
        await bot.settle()
    bot.w.clock.advance(hours=12)  # the next day: one task for both groups
    await bot.settle()
    shared = [r for r in await bot.rows() if r.text == "今晚 8 点共学开始"]
    assert {r.status for r in shared} == {OutboxStatus.PROPOSED} and len({r.task_id for r in shared}) == 1

    bot.w.clock.advance(hours=11, minutes=30)  # a day since the first group's post was queued, not the second's
    done = await group_tasks.follow(bot.env, bot.w.transport, remind_after=REMIND, expire_after=EXPIRE)

    assert bot.w.fake.groupmsg.templates[shared[0].task_id or ""].cancelled
    assert done.expired == 2
    assert {r.status for r in await bot.rows() if r.text == "今晚 8 点共学开始"} == {OutboxStatus.EXPIRED}

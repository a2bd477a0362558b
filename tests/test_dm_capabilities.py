"""Private messages to the helper: brand keywords into brand groups (and what happens when the
groups are full), the throttled brand menu, earnings and upgrade progress, and the material
group's posts — each asserted on the texts people receive and the rows written."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.app import build_env
from bot.base.config import ConfigError
from bot.runtime.dispatch import Dispatcher
from bot.runtime.router import Router, keyword
from handlers.earnings import bar
from models import BrandGroup, RoomMember
from services.material import material_trigger, post_material
from tests.dm_support import ROUTERS, RoomMakingTransport, dm, last_id, outbox, run, sell, texts_to
from tests.fakes import FakeTransport
from tests.support import START, edited_settings, order_event, running_services

# --- brand keywords → brand groups -------------------------------------------------------------


async def set_members(services, **counts: int) -> None:
    async with services.db.unit_of_work() as session:
        for room, count in counts.items():
            await session.execute(
                update(BrandGroup).where(BrandGroup.room_id == room.replace("_", "-")).values(member_count=count)
            )


async def groups(services, brand: str = "xinghuo") -> list[tuple[str, int, int]]:
    async with services.db.reading() as session:
        rows = await session.scalars(
            select(BrandGroup).where(BrandGroup.brand_id == brand).order_by(BrandGroup.position)
        )
        return [(g.room_id, g.position, g.member_count) for g in rows]


async def test_a_distributor_writing_a_brand_alias_in_full_width_inside_a_sentence_is_added_to_its_first_group(
    services,
):
    await run(services, dm("wx-lina", "我想进 ＸＩＮＧ Huo 的群"))

    [add, reply] = await outbox(services)
    assert (add.kind, add.target, add.payload) == ("room_add", "wx-lina", {"room": "room-xinghuo-1"})
    assert reply.target == "wx-lina"
    assert reply.text.startswith("好的！正在把你拉进「星火思维推广1群」")
    assert await groups(services) == [("room-xinghuo-1", 0, 1), ("room-xinghuo-2", 1, 0)]


async def test_above_forty_members_the_person_gets_an_invitation_instead_of_a_direct_add(services):
    await set_members(services, room_xinghuo_1=41)

    await run(services, dm("wx-lina", "数学"))

    [invite, reply] = await outbox(services)
    assert (invite.kind, invite.target, invite.payload) == ("room_invite", "wx-lina", {"room": "room-xinghuo-1"})
    assert "「星火思维推广1群」的入群邀请马上发给你" in reply.text


async def test_a_full_first_group_rolls_over_to_the_next_one(services):
    await set_members(services, room_xinghuo_1=450)

    await run(services, dm("wx-lina", "思维"))

    [add, reply] = await outbox(services)
    assert (add.kind, add.payload) == ("room_add", {"room": "room-xinghuo-2"})
    assert "星火思维推广2群" in reply.text


async def test_groups_roll_over_at_the_configured_cap_below_their_capacity(databases, dialect):
    settings = edited_settings(("rollover_at: 480", "rollover_at: 100"))
    async with running_services(databases, dialect, settings) as services:
        await set_members(services, room_xinghuo_1=100)

        await run(services, dm("wx-lina", "星火"))

        [add, _] = await outbox(services)
        assert add.payload == {"room": "room-xinghuo-2"}


async def test_a_burst_of_requests_counts_each_seat_so_the_group_does_not_overfill(services):
    await set_members(services, room_xinghuo_1=448)

    dispatcher = Dispatcher(services, ROUTERS, FakeTransport())
    dispatcher.start()
    people = ("wx-lina", "wx-zhangwei", "wx-wangfang", "wx-linxiao")
    await asyncio.gather(*(dispatcher.submit(dm(p, "数学")) for p in people))  # one batch
    await dispatcher.submit(dm("ops-xiaomei", "数学"))  # the next one
    await dispatcher.stop()

    rooms = [r.payload["room"] for r in await outbox(services) if r.kind != "text"]
    assert rooms == ["room-xinghuo-1", "room-xinghuo-1", "room-xinghuo-2", "room-xinghuo-2", "room-xinghuo-2"]
    assert await groups(services) == [("room-xinghuo-1", 0, 450), ("room-xinghuo-2", 1, 3)]


async def test_someone_already_in_one_of_the_brand_groups_is_told_which(services):
    async with services.db.unit_of_work() as session:
        session.add(RoomMember(room_id="room-xinghuo-2", contact_id="wx-lina", seen_at=START))

    await run(services, dm("wx-lina", "数学"))

    [reply] = await outbox(services)
    assert reply.text.startswith("你已经在「星火思维推广2群」里啦")


async def test_someone_not_yet_a_distributor_is_told_how_to_join_instead(services):
    await run(services, dm("wx-stranger", "我要进数学群"))

    [reply] = await outbox(services)
    assert reply.text.startswith("想进星火思维的推广群，要先成为童趣优课的分销员")
    assert "发送“注册 邀请码”" in reply.text and "加入后再发送“数学”就能进群啦" in reply.text


async def test_someone_not_yet_a_distributor_naming_two_brands_gets_one_answer_naming_both(services):
    await run(services, dm("wx-stranger", "英语绘本和数学都想了解"))

    [reply] = await outbox(services)
    assert reply.text.startswith("想进绘本岛、星火思维的推广群，要先成为童趣优课的分销员")


async def test_two_brands_in_one_message_get_both_groups(services):
    await run(services, dm("wx-lina", "英语绘本和数学都想了解"))

    adds = [r.payload["room"] for r in await outbox(services) if r.kind == "room_add"]
    assert adds == ["room-huiben-1", "room-xinghuo-1"]


async def test_when_every_group_is_full_and_no_room_can_be_created_ops_hear_once_an_hour_and_people_when_to_retry(
    services,
):
    await set_members(services, room_xinghuo_1=450, room_xinghuo_2=480)

    await run(services, dm("wx-lina", "数学"))
    services.clock.advance(minutes=10)
    await run(services, dm("wx-zhangwei", "数学"))
    first = await outbox(services)
    services.clock.advance(minutes=55)
    mark = await last_id(services)
    await run(services, dm("wx-wangfang", "数学"))
    later = await outbox(services, since=mark)

    assert all(r.kind == "text" for r in first + later)
    [alert] = texts_to(first, "ops-xiaomei")
    assert alert.startswith("⚠️ 星火思维（xinghuo）的推广群都满了")
    assert "· 星火思维推广1群：450/450 人\n· 星火思维推广2群：480/450 人" in alert
    assert texts_to(first, "wx-lina") == [
        "星火思维的推广群暂时都满了，我们正在开新群。请在 11:00 之后再发送“数学”，到时就能进群啦。"
    ]
    assert "请在 11:00 之后" in texts_to(first, "wx-zhangwei")[0]
    assert len(texts_to(later, "ops-xiaomei")) == 1  # an hour after the first alert
    assert "请在 12:05 之后" in texts_to(later, "wx-wangfang")[0]


async def test_when_every_group_is_full_the_helper_creates_the_next_group_where_the_transport_can(services):
    await set_members(services, room_xinghuo_1=450, room_xinghuo_2=450)
    transport = RoomMakingTransport()

    await run(services, dm("wx-lina", "数学"), dm("wx-zhangwei", "数学"), transport=transport)

    assert transport.created == [("room-new-1", "星火思维推广3群", ("wx-lina", "mgr-zhaolin"))]
    assert await groups(services) == [("room-xinghuo-1", 0, 450), ("room-xinghuo-2", 1, 450), ("room-new-1", 2, 4)]
    rows = await outbox(services)
    assert texts_to(rows, "wx-lina") == [
        "星火思维的推广群都满了，已为你新开「星火思维推广3群」并把你拉了进去，去聊天列表里看看吧～"
    ]
    assert "小助手已新建「星火思维推广3群」（room-new-1）" in texts_to(rows, "ops-xiaomei")[0]
    [add] = [r for r in rows if r.kind == "room_add"]
    assert (add.target, add.payload) == ("wx-zhangwei", {"room": "room-new-1"})
    async with services.db.reading() as session:
        members = set(await session.scalars(select(RoomMember.contact_id).where(RoomMember.room_id == "room-new-1")))
    assert members == {"helper", "wx-lina", "mgr-zhaolin"}


async def test_a_batch_replayed_after_another_event_failed_does_not_create_a_second_group(services):
    await set_members(services, room_xinghuo_1=450, room_xinghuo_2=450)
    transport = RoomMakingTransport()
    broken = Router("broken")

    @broken.message(keyword("坏"))
    async def fails(ctx):
        raise RuntimeError("boom")

    dispatcher = Dispatcher(services, [broken, *ROUTERS], transport)
    dispatcher.start()
    await asyncio.gather(dispatcher.submit(dm("wx-lina", "数学")), dispatcher.submit(dm("wx-zhangwei", "坏")))
    await dispatcher.stop()

    assert dispatcher.failed == 1
    assert [room for room, _, _ in transport.created] == ["room-new-1"]
    assert [room for room, _, _ in await groups(services)] == ["room-xinghuo-1", "room-xinghuo-2", "room-new-1"]
    assert "已为你新开「星火思维推广3群」" in texts_to(await outbox(services), "wx-lina")[0]


# --- the brand menu, throttled --------------------------------------------------------------------


async def test_asking_for_the_menu_three_times_in_a_row_gets_it_once_and_again_minutes_later(services):
    await run(services, dm("wx-lina", "帮助"), dm("wx-lina", "菜单"), dm("wx-lina", "品牌"))
    services.clock.advance(minutes=6)
    await run(services, dm("wx-lina", "帮助"))

    [menu, later] = await outbox(services)  # the second and third asks: the menu just sent still stands
    assert menu.template == "menu" and "发送“数学”" in menu.text
    assert later.template == "menu" and later.text == menu.text


async def test_text_nobody_understands_gets_the_menu_then_one_reminder_then_quiet(services):
    await run(services, *(dm("wx-lina", t) for t in ("你好", "在吗", "谢谢", "好的")))

    rows = await outbox(services)
    assert [r.template for r in rows] == ["menu", "menu_reminder"]
    assert rows[0].text.startswith("这句我没看懂～")
    assert rows[1].text.startswith("这句我没看懂～\n发送品牌关键词进群")


async def test_the_menu_throttle_is_per_person(services):
    await run(services, dm("wx-lina", "帮助"), dm("wx-zhangwei", "帮助"))

    assert [r.template for r in await outbox(services)] == ["menu", "menu"]


async def test_a_menu_lost_with_a_failed_batch_is_still_sent_when_the_batch_is_replayed(services):
    broken = Router("broken")

    @broken.message(keyword("坏"))
    async def fails(ctx):
        raise RuntimeError("boom")

    dispatcher = Dispatcher(services, [broken, *ROUTERS], FakeTransport())
    dispatcher.start()
    await asyncio.gather(dispatcher.submit(dm("wx-lina", "帮助")), dispatcher.submit(dm("wx-zhangwei", "坏")))
    await dispatcher.stop()

    assert dispatcher.failed == 1
    assert [(r.target, r.template) for r in await outbox(services)] == [
        ("wx-lina", "menu"),
        ("wx-zhangwei", "error_fallback"),
    ]


# --- earnings and upgrade progress ------------------------------------------------------------------


async def test_earnings_show_totals_by_status_and_kind_this_month_and_the_last_five_lines(services):
    await sell(services, *(order_event(f"o-{i}", ref="DEMOC001", buyer=f"b-{i}") for i in range(6)))
    mark = await last_id(services)

    await run(services, dm("wx-lina", "我的收益"))

    [reply] = await outbox(services, since=mark)
    assert reply.text.startswith("💰 李娜的收益（元）\n待结算 864.00 · 已结算 0.00 · 已取消 0.00\n")
    assert "本月（2026-11）：864.00" in reply.text
    assert "按类型：销售佣金 864.00" in reply.text
    assert "最近 5 笔：\n11-25 10:00 星火思维秋季课 销售佣金 入账 144.00" in reply.text
    assert reply.text.count("入账 144.00") == 5


async def test_a_recruiter_sees_the_management_commission_of_a_recruits_sale(services):
    await sell(services, order_event("o-1", ref="DEMOC001"))
    mark = await last_id(services)

    await run(services, dm("wx-wangfang", "收益"))

    [reply] = await outbox(services, since=mark)
    assert "按类型：管理佣金 7.20" in reply.text


async def test_earnings_before_any_sale_say_so(services):
    await run(services, dm("wx-zhangwei", "收益"))

    [reply] = await outbox(services)
    assert "待结算 0.00" in reply.text and "还没有明细" in reply.text


async def test_upgrade_progress_shows_each_condition_with_a_bar_and_what_is_missing(services):
    await sell(services, *(order_event(f"o-{i}", ref="DEMOC001", buyer=f"b-{i}") for i in range(3)))
    mark = await last_id(services)

    await run(services, dm("wx-lina", "升级"))

    [reply] = await outbox(services, since=mark)
    assert reply.text.startswith("📈 李娜：推广员（C）→ 主管（B）\n方案1，完成 13%：\n")
    assert "推广销售额 ▓░░░░░░░░░ 11%\n  1,197.00 元 / 10,000.00 元，还差 8,803.00 元" in reply.text
    assert "客户数 ▓░░░░░░░░░ 15%\n  3 人 / 20 人，还差 17 人" in reply.text
    assert "—— 或 ——\n方案2（最接近），完成 19%：\n推广销售额 ▓▓▓░░░░░░░ 39%" in reply.text
    assert "直属 VIP ░░░░░░░░░░ 0%\n  0 人 / 5 人，还差 5 人" in reply.text


async def test_a_top_level_partner_is_told_there_is_no_next_level(services):
    await run(services, dm("wx-linxiao", "升级"))

    [reply] = await outbox(services)
    assert reply.text == "🏆 林晓，你已经是最高级别 合伙人（A）啦，继续加油！"


async def test_someone_not_yet_a_distributor_asking_for_earnings_or_progress_is_told_how_to_join_once(services):
    await run(services, dm("wx-stranger", "收益"), dm("wx-stranger", "升级"))

    replies = await outbox(services)
    assert [r.template for r in replies] == ["how_to_join"]  # the same answer to both: given once
    assert replies[0].text.startswith("你还不是童趣优课的分销员，加入的方法：")


def test_the_progress_bar_has_one_block_per_ten_percent_rounded_down():
    assert [bar(p) for p in (0, 9, 40, 99, 100, 250)] == [
        "░░░░░░░░░░",
        "░░░░░░░░░░",
        "▓▓▓▓░░░░░░",
        "▓▓▓▓▓▓▓▓▓░",
        "▓▓▓▓▓▓▓▓▓▓",
        "▓▓▓▓▓▓▓▓▓▓",
    ]


# --- the material group -----------------------------------------------------------------------------


async def test_the_daily_material_post_goes_out_once_a_day_within_its_hours(services):
    clock = services.clock
    clock.at = START - timedelta(hours=2)  # 08:00 in Shanghai
    early = await post_material(services)
    clock.at = START  # 10:00
    on_time = await post_material(services)
    clock.advance(hours=1)
    again = await post_material(services)
    clock.at = START + timedelta(days=1, hours=12)  # 22:00 the next day
    too_late = await post_material(services)
    clock.at = START + timedelta(days=2)
    next_day = await post_material(services)

    assert (early, on_time, again, too_late, next_day) == (False, True, False, False, True)
    posts = await outbox(services)
    assert [(p.target, p.target_is_room, p.template) for p in posts] == [("room-material", True, "material_post")] * 2
    assert posts[0].text.startswith("📣 童趣优课 · 今日推荐\n")
    assert "私聊小助手发送“数学”，进星火思维推广群领素材" in posts[0].text
    assert posts[0].text != posts[1].text  # the brands take turns at the top


async def test_two_processes_running_the_daily_post_at_once_post_it_once(services):
    other = build_env(settings=services.settings, database_url=services.db.url, clock=services.clock)
    try:
        results = await asyncio.gather(post_material(services), post_material(other), post_material(services))
    finally:
        await other.db.dispose()

    assert sorted(results) == [False, False, True]
    assert len(await outbox(services)) == 1


def test_the_daily_post_is_scheduled_at_the_configured_local_time():
    settings = edited_settings(('post_at: "09:30"', 'post_at: "08:45"'))

    assert material_trigger(settings) == {"hour": 8, "minute": 45, "timezone": "Asia/Shanghai"}
    assert material_trigger(edited_settings(("material_group: room-material", "material_group: null"))) is None


def test_an_unquoted_post_time_is_refused_with_a_hint_to_quote_it():
    with pytest.raises(ConfigError) as refused:
        edited_settings(('post_at: "09:30"', "post_at: 9:30"))

    assert 'material.post_at: write the time as text in quotes, e.g. "09:30"' in str(refused.value)


async def test_ops_asking_for_a_recommendation_in_private_get_it_posted_and_a_confirmation(services):
    await run(services, dm("ops-xiaomei", "推荐"))
    services.clock.advance(minutes=3)
    await run(services, dm("ops-xiaomei", "推荐"))

    [post, confirmation, refusal] = await outbox(services)
    assert (post.target, post.template) == ("room-material", "material_post")
    assert confirmation.text == "已把推荐发到素材群（3 个品牌）。"
    assert refusal.text == "素材群 10:00 刚发过推荐，10 分钟内不重复发。"


async def test_a_course_manager_posting_the_command_in_the_material_group_gets_the_post_itself(services):
    await run(services, dm("mgr-zhaolin", "推荐", room="room-material"))

    [post] = await outbox(services)
    assert (post.target, post.target_is_room, post.template) == ("room-material", True, "material_post")


async def test_a_distributor_saying_recommend_gets_no_post(services):
    await run(services, dm("wx-lina", "推荐"), dm("wx-lina", "推荐", room="room-material"))

    assert [r.template for r in await outbox(services)] == ["menu"]


async def test_asking_again_before_joining_repeats_the_answer_after_a_while_without_a_second_invitation(services):
    await run(services, dm("wx-lina", "数学"))
    await run(services, dm("wx-lina", "数学群怎么还没进"))  # the same answer a moment ago: not again
    services.clock.advance(minutes=6)
    await run(services, dm("wx-lina", "数学群怎么还没进"))

    rows = await outbox(services)
    assert [r.kind for r in rows if r.target == "wx-lina" and r.kind != "text"] == ["room_add"]
    answers = [r.text for r in rows if r.target == "wx-lina" and r.kind == "text"]
    assert len(answers) == 2 and all("星火思维推广1群" in a for a in answers)
    assert (await groups(services))[0][2] == 1  # one seat taken, not two

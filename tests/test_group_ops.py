"""Brand groups as their members see them: newcomers welcomed, the course manager's commands
(stock, relay pushes, announcements) and everyone else politely refused, relay lines in
bursts, showcases (晒单) and the red packets owed list of the ops API."""

from __future__ import annotations

import asyncio
import doctest
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update

import core.group_ops
import handlers
from bot.app import web_app
from bot.base.config import RateLimits
from bot.base.transport import Message, RoomJoin
from bot.runtime.dispatch import Dispatcher
from bot.runtime.sender import OutboxSender
from bot.web import red_packets_api as ops_red_packets_api
from handlers import groups, leaderboard, red_packets, relay
from models import Course, OutboxMessage, RedPacket
from tests.fakes import FakeTransport
from tests.support import START, TOKEN, order_event, post_event

ROUTERS = [groups.router, relay.router, leaderboard.router, red_packets.router, *handlers.ROUTERS]
XH1, XH2, HB = "room-xinghuo-1", "room-xinghuo-2", "room-huiben-1"
MANAGER, OPS = "mgr-zhaolin", "ops-xiaomei"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def api(services) -> AsyncIterator[TestClient]:
    """The web app with the red-packets routes (added here until bot/web/app.py wires them)."""
    app = web_app(services)
    if not any(r.resource is not None and r.resource.canonical == "/api/red-packets" for r in app.router.routes()):
        app.add_routes(ops_red_packets_api.routes)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


def say(sender: str, text: str, room: str | None = XH1, *, kind: str = "text", at=START, n: int = 0) -> Message:
    return Message(id=f"{sender}-{n}-{text}", sender=sender, sender_name=sender, text=text, at=at, room=room, kind=kind)


async def run(services, *events, transport: FakeTransport | None = None) -> None:
    dispatcher = Dispatcher(services, ROUTERS, transport or FakeTransport())
    dispatcher.start()
    for item in events:
        await dispatcher.submit(item)
    await dispatcher.stop()


async def run_together(services, *events, transport: FakeTransport) -> None:
    """Events arriving at once: handled in one unit of work."""
    dispatcher = Dispatcher(services, ROUTERS, transport)
    dispatcher.start()
    await asyncio.gather(*(dispatcher.submit(e) for e in events))
    await dispatcher.stop()


async def rows(services, target: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if target is not None:
        query = query.where(OutboxMessage.target == target)
    async with services.db.reading() as session:
        return list(await session.scalars(query))


async def texts(services, target: str) -> list[str]:
    return [r.text for r in await rows(services, target)]


def test_the_examples_in_the_group_rules_hold():
    assert doctest.testmod(core.group_ops).failed == 0


# --- Welcome. ---


async def test_newcomers_are_welcomed_in_one_message_mentioning_them_all_but_not_the_helper(services):
    transport = FakeTransport(members={XH1: ["helper", "old"]})
    await run(services, RoomJoin(XH1, ("helper",), START), transport=transport)  # the bot's first look
    transport.members[XH1] += ["a", "b", "c"]

    await run(services, RoomJoin(XH1, ("a",), START), transport=transport)  # names one of three

    [welcome] = await rows(services, XH1)
    assert welcome.text.startswith("🎉 欢迎 3 位新朋友加入「星火思维推广1群」！")
    assert welcome.payload["mentions"] == ["a", "b", "c"]


async def test_joins_while_a_welcome_is_still_queued_join_that_welcome_and_later_ones_get_their_own(services):
    transport = FakeTransport(members={XH1: ["helper", "a"]})
    await run(services, RoomJoin(XH1, ("a",), START), transport=transport)
    transport.members[XH1].append("b")
    await run(services, RoomJoin(XH1, ("b",), START), transport=transport)

    [welcome] = await rows(services, XH1)
    assert (welcome.payload["mentions"], welcome.text.startswith("🎉 欢迎 2 位新朋友")) == (["a", "b"], True)

    async with services.db.unit_of_work() as session:
        await session.execute(update(OutboxMessage).values(status="sent"))
    transport.members[XH1] += ["c", "d"]
    await run_together(services, RoomJoin(XH1, ("c",), START), RoomJoin(XH1, ("d",), START), transport=transport)

    later = (await rows(services, XH1))[1:]
    assert [(r.payload["mentions"], r.text.startswith("🎉 欢迎 2 位新朋友")) for r in later] == [(["c", "d"], True)]


async def test_at_the_bots_first_look_at_a_room_only_the_people_the_join_names_are_new(services):
    transport = FakeTransport(members={XH2: ["helper", "x", "y", "newbie"]})

    await run(services, RoomJoin(XH2, ("newbie",), START), transport=transport)

    [welcome] = await rows(services, XH2)
    assert welcome.payload["mentions"] == ["newbie"]


# --- Manager commands and refusals. ---


async def test_a_manager_sets_the_stock_and_hears_it_with_the_next_red_packet_threshold(services):
    await run(services, say(MANAGER, "@小助手 库存 xh-math-s1 １２０"))

    [answer] = await texts(services, XH1)
    assert answer == (
        "✅ 星火思维秋季课（XH-MATH-S1）库存已设为 120 份。\n下一个红包档：库存降到 100 份及以下时，群里宣布红包。"
    )
    async with services.db.reading() as session:
        course = await session.get(Course, "XH-MATH-S1")
    assert (course.stock, course.stock_epoch) == (120, 1)


async def test_setting_the_stock_again_lets_a_threshold_already_announced_fire_again(client, services):
    announcements = []
    for attempt in range(2):
        await run(services, say(MANAGER, "库存 XH-MATH-S1 101", n=attempt))
        await post_event(client, order_event(f"o-{attempt}", ref="DEMOC001", buyer=f"b-{attempt}"))
        announcements = [t for t in await texts(services, XH2) if t.startswith("🧧")]
        assert len(announcements) == attempt + 1
    async with services.db.reading() as session:
        epochs = list(await session.scalars(select(RedPacket.stock_epoch).order_by(RedPacket.id)))
    assert epochs == [1, 2]
    assert [t for t in await texts(services, MANAGER) if "库存降到 100 份及以下" in t] == [
        "星火思维：星火思维秋季课 库存降到 100 份及以下（现余 100 份），群里已宣布红包。\n"
        "请在 星火思维推广1群、星火思维推广2群 发出红包，发完后在运营后台标记“已发”。"
    ] * 2


async def test_stock_for_a_course_of_another_brand_gets_the_usage_with_this_brands_courses(services):
    await run(services, say(MANAGER, "库存 HB-YEAR 10"), say(MANAGER, "库存", n=1))

    first, second = await texts(services, XH1)
    assert first.startswith("没有找到课程“HB-YEAR”。设置库存请发送：库存 <课程编号> <数量>")
    assert "· XH-MATH-S1 星火思维秋季课（现库存 300）" in first and "XH-TRIAL" in first
    assert second.startswith("设置库存请发送")


async def test_everyone_else_giving_a_manager_command_is_refused_politely_and_nothing_changes(services):
    commands = ["库存 XH-MATH-S1 5", "开始接龙 冲", "结束接龙", "公告 大家好", "发布排行榜"]
    lina = [say("wx-lina", text, n=i) for i, text in enumerate(commands)]
    other_manager = say("mgr-sunyu", "库存 XH-MATH-S1 5", n=9)  # manages 绘本岛, not 星火思维

    await run(services, *lina, other_manager, say("wx-lina", "库存还有多少？", n=10))

    answers = await rows(services, XH1)
    words = ["库存", "开始接龙", "结束接龙", "公告", "发布排行榜", "库存"]
    assert [r.text for r in answers] == [
        f"“{w}”是星火思维课程经理的指令，只有本群的课程经理可以使用哦～ 有需要可以@课程经理。" for w in words
    ]
    assert [r.payload["mentions"] for r in answers][-1] == ["mgr-sunyu"]
    assert await texts(services, XH2) == []
    async with services.db.reading() as session:
        assert (await session.get(Course, "XH-MATH-S1")).stock == 300


async def test_an_announcement_is_reposted_in_every_group_of_the_brand_and_ops_may_announce_too(services):
    await run(services, say(MANAGER, "公告：今晚 8 点直播，不见不散！"), say(OPS, "公告", room=HB, n=1))

    for room in (XH1, XH2):
        assert await texts(services, room) == ["📢 星火思维公告\n今晚 8 点直播，不见不散！"]
    assert await texts(services, HB) == ["发布公告请发送：公告 <内容>，我会转发到绘本岛的每一个推广群。"]


# --- Relay pushes. ---


async def test_a_second_relay_push_is_refused_while_one_is_open(services):
    await run(services, say(MANAGER, "开始接龙 双十二冲刺"), say(MANAGER, "开始接龙 又一个", n=1))

    assert (await texts(services, XH2))[0].startswith("📣 星火思维出单接龙开始啦：双十二冲刺！")
    assert (await texts(services, XH1))[1].startswith("已经有一个接龙在进行中（双十二冲刺），11月25日 10:00 开始")


async def test_ending_a_push_posts_the_final_list_and_the_top_three_sellers_in_every_group(client, services):
    await run(services, say(MANAGER, "开始接龙 双十二冲刺"))
    sales = [("DEMOC001", 1), ("DEMOC002", 2), (None, 1), ("DEMOC001", 1), ("DEMOB001", 1), ("DEMOA001", 3)]
    for i, (ref, quantity) in enumerate(sales):
        amount = str(Decimal("399.00") * quantity)
        event = order_event(f"o-{i}", ref=ref, quantity=quantity, amount=amount, buyer=f"b-{i}")
        await post_event(client, {**event, "occurred_at": (START + timedelta(minutes=i)).isoformat()})

    services.clock.advance(minutes=10)
    await run(services, say(MANAGER, "结束接龙", n=1))

    for room in (XH1, XH2):
        *_, final, top = await texts(services, room)
        assert final == (
            "🏁 星火思维出单接龙「双十二冲刺」结束，共 5 单\n"
            "1. 李** 星火思维秋季课 ×1\n2. 张** 星火思维秋季课 ×2\n3. 李** 星火思维秋季课 ×1\n"
            "4. 王** 星火思维秋季课 ×1\n5. 林** 星火思维秋季课 ×3"
        )
        assert top == (
            "🏆 本次接龙出单王（双十二冲刺）：林**，销售额 1,197.00 元！\n"
            "🥇 林**  1,197.00 元\n🥈 李**  798.00 元\n🥈 张**  798.00 元\n恭喜！大家辛苦啦～"
        )
    await run(services, say(MANAGER, "结束接龙", n=2))
    assert (await texts(services, XH1))[-1].startswith("星火思维现在没有进行中的接龙")


async def test_a_long_final_list_is_cut_into_a_few_messages_and_says_how_many_were_left_out(
    client, services, monkeypatch
):
    monkeypatch.setattr(relay, "LINES_PER_MESSAGE", 2)
    monkeypatch.setattr(relay, "MAX_MESSAGES", 2)
    await run(services, say(MANAGER, "开始接龙"))
    for i in range(5):
        await post_event(client, order_event(f"o-{i}", ref="DEMOC001", buyer=f"b-{i}"))

    await run(services, say(MANAGER, "结束接龙", n=1))

    first, second = [t for t in await texts(services, XH2) if t.startswith("🏁")]
    assert first == "🏁 星火思维出单接龙结束，共 5 单（1/2）\n1. 李** 星火思维秋季课 ×1\n2. 李** 星火思维秋季课 ×1"
    assert second.endswith("4. 李** 星火思维秋季课 ×1\n……另有 1 单未列出，发送“排行榜 接龙”看完整排名")


class FakeTime:
    """The sender's monotonic clock and the services' clock, moving together only on sleep."""

    def __init__(self, services):
        self.services, self.mono = services, 1000.0

    def monotonic(self) -> float:
        return self.mono

    async def sleep(self, seconds: float) -> None:
        self.mono += seconds
        self.services.clock.advance(seconds=seconds)


async def test_a_burst_of_relay_lines_goes_out_as_one_message_per_room(client, services):
    await run(services, say(MANAGER, "开始接龙"))
    for i in range(12):
        await post_event(client, order_event(f"o-{i}", ref="DEMOC001" if i % 2 else "DEMOC002", buyer=f"b-{i}"))
    transport, time = FakeTransport(), FakeTime(services)
    limits = RateLimits(account_interval_seconds=3, room_interval_seconds=8, jitter_seconds=2)
    sender = OutboxSender(services, transport, limits, rng=random.Random(5), monotonic=time.monotonic, sleep=time.sleep)

    for _ in range(100):
        wait = await sender.send_next()
        if wait is None:
            break
        await time.sleep(wait)

    [relay_message] = [s.text for s in transport.sent if s.target == XH1 and "出单 " in s.text]
    assert relay_message.splitlines() == [
        f"{i}. {'张' if i % 2 else '李'}** 出单 星火思维秋季课 ×1" for i in range(1, 13)
    ]


# --- Showcases (晒单). ---


async def test_an_image_captioned_晒单_records_a_red_packet_for_the_latest_order_and_tells_the_manager(
    client, services
):
    await post_event(client, order_event("o-1", ref="DEMOC001"))
    await post_event(client, order_event("o-2", ref="DEMOC001", buyer="b-2", at=START + timedelta(minutes=1)))

    await run(services, say("wx-lina", "晒单啦", kind="image"))

    assert await texts(services, XH1) == [
        "📸 收到 李** 的晒单：星火思维秋季课 ×1。晒单红包已登记，课程经理会尽快在群里发放～"
    ]
    dm = (await texts(services, MANAGER))[-1]
    assert dm.startswith(
        "📸 星火思维晒单红包待发：李娜（DEMOC001）在「星火思维推广1群」晒了订单 o-2（星火思维秋季课 ×1，399.00 元）"
    )
    async with services.db.reading() as session:
        packets = (await session.execute(select(RedPacket.reason, RedPacket.showcase_order_id))).all()
    assert packets == [("showcase", "o-2")]


async def test_晒单_right_after_an_image_counts_but_too_late_or_without_an_image_it_is_explained(client, services):
    await post_event(client, order_event("o-1", ref="DEMOC001"))
    image, late = START, START + timedelta(minutes=6)

    await run(services, say("wx-lina", "晒单", n=1), say("wx-lina", "[图片]", kind="image", at=image, n=2))  # no image
    services.clock.at = late
    await run(services, say("wx-lina", "晒单", at=late, n=3))  # 6 minutes later: too late
    services.clock.at = late + timedelta(minutes=2)
    await run(
        services,
        say("wx-lina", "[图片]", kind="image", at=late, n=4),
        say("wx-lina", "晒单 o-1", at=late + timedelta(minutes=2), n=5),
    )

    need_image = "请先发订单截图，再在 5 分钟内发“晒单”；也可以发图时直接配上“晒单”两个字。"
    assert await texts(services, XH1) == [
        need_image,
        need_image,
        "📸 收到 李** 的晒单：星火思维秋季课 ×1。晒单红包已登记，课程经理会尽快在群里发放～",
    ]


async def test_each_order_earns_one_showcase_and_refunded_or_unknown_orders_none(client, services):
    await post_event(client, order_event("o-1", ref="DEMOC001"))
    await post_event(client, order_event("o-2", ref="DEMOC001", buyer="b-2"))
    await post_event(client, order_event("o-2", type="refunded", amount="399.00"))
    pictures = [
        say("wx-lina", text, kind="image", n=i)
        for i, text in enumerate(["晒单", "晒单", "晒单 o-1", "晒单 o-2", "晒单 o-9"])
    ]
    stranger = say("wx-guest", "晒单", kind="image", n=9)

    await run(services, *pictures, stranger)

    answers = await texts(services, XH1)
    assert answers[0].startswith("📸 收到 李** 的晒单")
    assert answers[1:] == [
        "没有找到你在星火思维可以晒的订单：只有已付款、未退款、还没晒过的订单能领晒单红包。",
        "订单 o-1 已经晒过单了，红包已登记，不用重复晒哦。",
        "订单 o-2 已退款，不能领晒单红包。",
        "没有找到你在星火思维的订单 o-9，请核对订单号。",
        "晒单红包是给分销员的：私聊我发送邀请码注册后，再来晒单吧。",
    ]


# --- The red packets owed, in the ops API. ---


async def test_red_packets_owed_are_listed_by_brand_and_marked_paid_once(api, services):
    async with services.db.unit_of_work() as session:
        await session.execute(update(Course).where(Course.sku == "XH-MATH-S1").values(stock=101))
    await post_event(api, order_event("o-1", ref="DEMOC001"))  # crosses 100: a threshold packet
    await run(services, say("wx-lina", "晒单", kind="image"))

    owed = await (await api.get("/api/red-packets", headers=AUTH)).json()
    other_brand = await (await api.get("/api/red-packets?brand=huiben", headers=AUTH)).json()
    showcase = next(p for p in owed["red_packets"] if p["reason"] == "showcase")
    paid = await api.post(f"/api/red-packets/{showcase['id']}/paid", json={"by": MANAGER}, headers=AUTH)
    again = await api.post(f"/api/red-packets/{showcase['id']}/paid", json={"by": OPS}, headers=AUTH)
    after = await (await api.get("/api/red-packets?status=paid&brand=xinghuo", headers=AUTH)).json()

    assert [(p["reason"], p["threshold"]) for p in owed["red_packets"]] == [("threshold", 100), ("showcase", None)]
    assert showcase["order"] == {
        "id": "o-1",
        "quantity": 1,
        "amount": "399.00",
        "seller": {"code": "DEMOC001", "name": "李娜"},
    }
    assert showcase["course"] == {"sku": "XH-MATH-S1", "name": "星火思维秋季课"}
    assert other_brand["count"] == 0
    assert (paid.status, (await paid.json())["paid_by"]) == (200, MANAGER)
    assert (again.status, (await again.json())["paid_by"]) == (409, MANAGER)
    assert [(p["id"], p["paid_by"]) for p in after["red_packets"]] == [(showcase["id"], MANAGER)]
    problems = [
        await api.get("/api/red-packets?status=lost", headers=AUTH),
        await api.get("/api/red-packets?brand=nope", headers=AUTH),
        await api.post("/api/red-packets/999/paid", json={"by": OPS}, headers=AUTH),
        await api.post(f"/api/red-packets/{showcase['id']}/paid", json={}, headers=AUTH),
        await api.get("/api/red-packets"),
    ]
    assert [r.status for r in problems] == [422, 404, 404, 422, 401]

"""Group moderation end to end in the simulator: an ad poster warned in the group (once per
offence), then removed (“… 被移出群聊”), the removal recorded with before and after; ops told
whom to remove where the transport cannot; managers, ops and sellers' links left alone; an
appeal by DM and ops undoing it on the console (strikes cleared, the person re-invited)."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
import qrcode
from sqlalchemy import select

import handlers
from bot.runtime.dispatch import Dispatcher
from bot.runtime.middleware import AnswerLimiter
from bot.runtime.moderation import Moderator
from models import AuditEntry, ModerationCase, ModerationStrike, OutboxMessage
from models.statuses import ModerationStatus
from tests.console_support import log_in, make_account
from tests.dm_support import dm
from tests.fakes import FAKE, FakeTransport
from tests.sim_bot_support import ROOM, World
from tests.support import START, TOKEN, order_event, post_event

pytestmark = pytest.mark.wall_clock  # the whole bot but the web server, through the simulator
AD = "wx-ad"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def a_stranger_in_the_group(world: World, contact: str = AD, name: str = "小广告") -> None:
    world.world.add_contact(contact, name)
    world.world.befriend(contact)
    world.world.join(ROOM, [contact])
    await world.settle()


async def audit(services, action: str) -> list[AuditEntry]:
    async with services.db.reading() as session:
        return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def test_an_ad_poster_is_warned_once_per_offence_then_removed_and_the_group_sees_it(services, tmp_path):
    async with World(services, tmp_path / "world.jsonl") as w:
        await a_stranger_in_the_group(w)

        await w.says(AD, "低价网课 加V了解 http://ad.example/x")
        await w.says(AD, "官网 www.cheap-course.cn")
        warnings = [(text, mentions) for text, mentions in w.helper_posts() if "请遵守群规" in text]
        assert warnings == [
            ("⚠️ 请遵守群规：本群禁止发布违规词。这是你在本品牌群的第 1 次违规，累计 3 次将被移出群聊。", [AD]),
            ("⚠️ 请遵守群规：本群禁止发布链接。这是你在本品牌群的第 2 次违规，累计 3 次将被移出群聊。", [AD]),
        ]
        assert AD in w.world.members(ROOM)

        picture = io.BytesIO()
        qrcode.make("https://ad.example/group").save(picture, "PNG")
        await w.says(AD, "[图片]", kind="image", image=picture.getvalue())

        assert AD not in w.world.members(ROOM)
        assert "小广告 被移出群聊" in w.room_lines()
        assert any(
            "小广告 多次违反群规（发布二维码，3/3 次），已被移出「星火思维推广1群」" in t for t in w.room_lines()
        )
        assert "请回复“申诉 原因”" in w.world.said_to(AD)[-1]["text"]

    [removal] = await audit(services, "moderation.remove")
    assert (removal.actor, removal.actor_role, removal.source) == ("moderation", "system", "chat")
    assert (removal.subject, removal.kind, removal.brand_id) == (AD, "moderation", "xinghuo")
    assert removal.before == {"in_group": True, "strikes": 2}
    assert removal.after["in_group"] is False and removal.after["rule"] == "qr_code" and removal.after["strikes"] == 3
    assert len(await audit(services, "moderation.warn")) == 2


async def test_a_flood_is_warned_once_and_the_messages_before_it_pass(services, tmp_path):
    async with World(services, tmp_path / "world.jsonl") as w:
        await a_stranger_in_the_group(w)
        for n in range(12):
            await w.says(AD, f"接龙 {n}")
        warnings = [text for text, _ in w.helper_posts() if "请遵守群规" in text]
    assert warnings == ["⚠️ 请遵守群规：本群禁止刷屏。这是你在本品牌群的第 1 次违规，累计 3 次将被移出群聊。"]


async def test_managers_ops_and_a_sellers_shop_link_are_left_alone(services, client, tmp_path):
    await post_event(client, order_event("o-1", ref="DEMOC001"))  # 李娜 has sold
    async with World(services, tmp_path / "world.jsonl") as w:
        w.world.join(ROOM, ["wx-lina", "wx-zhangwei", "ops-xiaomei"])
        await w.settle()
        await w.says("mgr-zhaolin", "报名链接 https://shop.example/xh 加微信也可以")
        await w.says("ops-xiaomei", "www.platform.cn 有新课")
        await w.says("wx-lina", "我的小店 https://shop.example/lina")
        await w.says("wx-zhangwei", "我的小店 https://shop.example/zw")  # no sales yet: a stranger's rules
        warned = [mentions for text, mentions in w.helper_posts() if "请遵守群规" in text]
    assert warned == [["wx-zhangwei"]]


async def test_where_the_transport_cannot_remove_members_ops_are_told_whom_to_remove(services):
    transport = FakeTransport(capabilities=replace(FAKE, remove_members=False))
    stage = [AnswerLimiter.for_env(services), Moderator(services)]
    dispatcher = Dispatcher(services, handlers.ROUTERS, transport, middlewares=stage)
    dispatcher.start()
    for n, text in enumerate(("加微信领资料", "加v", "加我微信")):
        services.clock.advance(minutes=1)
        await dispatcher.submit(replace(dm(AD, text, room=ROOM, name="小广告"), id=f"ad-{n}"))
    await dispatcher.stop()

    async with services.db.reading() as session:
        kinds = list(await session.scalars(select(OutboxMessage.kind)))
        told = await session.scalar(select(OutboxMessage.text).where(OutboxMessage.template == "moderation_remove_ops"))
        case = await session.scalar(select(ModerationCase))
    assert "room_remove" not in kinds
    assert "请把 小广告（wx-ad）移出「星火思维推广1群」" in told
    assert case.status == ModerationStatus.OPS_TOLD
    [entry] = await audit(services, "moderation.ops_told")
    assert entry.after["in_group"] == "ops asked to remove"


async def test_strikes_outside_the_window_do_not_count(services):
    stage = [AnswerLimiter.for_env(services), Moderator(services)]
    dispatcher = Dispatcher(services, handlers.ROUTERS, FakeTransport(), middlewares=stage)
    dispatcher.start()
    for n in range(3):
        await dispatcher.submit(replace(dm(AD, "加微信", room=ROOM, name="小广告"), id=f"ad-{n}"))
        await dispatcher.submit(replace(dm(AD, "...", room=ROOM), id=f"pause-{n}"))
        services.clock.advance(hours=13)
    await dispatcher.stop()
    async with services.db.reading() as session:
        assert await session.scalar(select(ModerationCase)) is None
        assert len(list(await session.scalars(select(ModerationStrike)))) == 3


async def test_the_removed_person_appeals_and_ops_undo_it_on_the_console(services, client, tmp_path):
    async with World(services, tmp_path / "world.jsonl") as w:
        await a_stranger_in_the_group(w)
        for text in ("加微信", "加v", "加我微信"):
            services.clock.advance(minutes=1)
            await w.says(AD, text)
        assert AD not in w.world.members(ROOM)

        await w.says(AD, "申诉 我是来问课程的家长，不是广告", room=None)
        assert "已收到你对被移出「星火思维推广1群」的申诉" in w.world.said_to(AD)[-1]["text"]
        async with services.db.reading() as session:
            case = await session.scalar(select(ModerationCase))
            told = await session.scalar(
                select(OutboxMessage.text).where(OutboxMessage.template == "moderation_appeal_ops")
            )
        assert case.status == ModerationStatus.APPEALED and "我是来问课程的家长" in told

        await make_account(services, "zhaolin", "manager", ["xinghuo"])
        await log_in(client, "zhaolin")
        managers_view = await (await client.get("/console/moderation")).text()
        assert "申诉：我是来问课程的家长，不是广告" in managers_view and "撤销并重新邀请" not in managers_view
        assert (await client.post(f"/console/moderation/cases/{case.id}/undo", data={})).status == 403

        await make_account(services, "xiaomei")
        csrf = await log_in(client, "xiaomei")
        done = await client.post(f"/console/moderation/cases/{case.id}/undo", data={"csrf": csrf, "note": "误判"})
        assert "已撤销" in await done.text()
        await w.settle()

        assert AD in w.world.members(ROOM)  # invited back (a direct add: the group is small)
        assert "违规记录已清除，已重新邀请你进群" in w.world.said_to(AD)[-1]["text"]
        posts = len(w.helper_posts())
        await w.says(AD, "谢谢，请问秋季课什么时候开始")  # back with a clean slate: nothing to say
        assert len(w.helper_posts()) == posts

    async with services.db.reading() as session:
        assert all(s.cleared_by == "xiaomei" for s in await session.scalars(select(ModerationStrike)))
    [undo] = await audit(services, "moderation.undo")
    assert (undo.actor, undo.source) == ("xiaomei", "console")
    assert undo.before == {"status": "appealed", "in_group": False}
    assert undo.after["strikes_cleared"] == 3 and undo.after["reinvited"] == "room_add"


async def test_the_api_lists_cases_and_upholding_an_appeal_needs_a_reason(services, client):
    stage = [AnswerLimiter.for_env(services), Moderator(services)]
    dispatcher = Dispatcher(services, handlers.ROUTERS, FakeTransport(), middlewares=stage)
    dispatcher.start()
    for n in range(3):
        services.clock.advance(minutes=1)
        await dispatcher.submit(replace(dm(AD, "加微信", room=ROOM, name="小广告"), id=f"ad-{n}"))
    await dispatcher.submit(dm(AD, "申诉 冤枉"))
    await dispatcher.stop()

    [case] = (await (await client.get("/api/moderation/cases?open=1", headers=AUTH)).json())["cases"]
    assert case["status"] == "appealed" and case["appeal"] == "冤枉"
    refused = await client.post(f"/api/moderation/cases/{case['id']}/uphold", json={}, headers=AUTH)
    assert refused.status == 422
    upheld = await client.post(
        f"/api/moderation/cases/{case['id']}/uphold", json={"note": "三次发广告", "by": "laowang"}, headers=AUTH
    )
    assert upheld.status == 200
    again = await client.post(f"/api/moderation/cases/{case['id']}/undo", json={}, headers=AUTH)
    assert again.status == 409
    strikes = (await (await client.get("/api/moderation/strikes", headers=AUTH)).json())["strikes"]
    assert len(strikes) == 3
    [entry] = await audit(services, "moderation.uphold")
    assert entry.actor == "laowang" and entry.note == "三次发广告"


async def test_someone_with_nothing_to_appeal_is_told_so(services):
    dispatcher = Dispatcher(services, handlers.ROUTERS, FakeTransport())
    dispatcher.start()
    await dispatcher.submit(dm("wx-zhangwei", "申诉 为什么"))
    await dispatcher.stop()
    async with services.db.reading() as session:
        text = await session.scalar(select(OutboxMessage.text).where(OutboxMessage.target == "wx-zhangwei"))
    assert "没有找到需要申诉的记录" in text
    assert START  # the clock never moved: nothing else was needed

"""Ops see, on the console's outbox page, the group posts waiting for a staff member's
confirmation (with a reminder action), the private messages held for the person's next message,
and the posts that expired. A brand's course manager sees the same of their brands only, and
may remind for their brands' posts but nothing else of the outbox."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from bot.app import web_app
from bot.transports.wecom_transport import WECOM
from models import OutboxMessage, RoomMember
from tests.console_support import log_in, make_account
from tests.fakes import FakeTransport
from tests.support import START


def row(**values) -> OutboxMessage:
    return OutboxMessage(account="helper", kind="text", template="t", created_at=START, not_before=START, **values)


async def test_ops_see_proposed_posts_remind_the_staff_member_and_see_held_and_expired_ones(services):
    transport = FakeTransport(capabilities=WECOM)
    async with services.db.unit_of_work() as session:
        proposed = row(target="room-xinghuo-1", target_is_room=True, text="接龙 1. 李*", status="proposed",
                       task_id="msg-1")
        held = row(target="wx-lina", text="本月收益 144.00 元", status="held",
                   last_error="wx-lina has not written to 微信客服 in the last 48 hours")
        expired = row(target="room-xinghuo-2", target_is_room=True, text="排行榜", status="expired", task_id="msg-2")
        session.add_all([proposed, held, expired])
        await session.flush()
        ids = proposed.id, held.id, expired.id
    await make_account(services, "xiaomei")
    client = TestClient(TestServer(web_app(services, transport)))
    await client.start_server()
    try:
        csrf = await log_in(client, "xiaomei")
        page = await (await client.get("/console/outbox?status=proposed")).text()
        assert "待员工确认 1" in page and "等对方消息 1" in page and "已过期 1" in page
        assert f'action="/console/outbox/{ids[0]}/remind"' in page

        reminded = await client.post(f"/console/outbox/{ids[0]}/remind", data={"csrf": csrf})
        assert "已提醒员工在企业微信里确认群发" in await reminded.text()
        assert [(s.kind, s.target) for s in transport.sent] == [("post_remind", "msg-1")]

        held_page = await (await client.get("/console/outbox?status=held")).text()
        assert "本月收益 144.00 元" in held_page and f'action="/console/outbox/{ids[1]}/drop"' in held_page
        dropped = await client.post(f"/console/outbox/{ids[1]}/drop", data={"csrf": csrf})
        assert dropped.status == 200
        assert "等对方消息 0" in await (await client.get("/console/outbox?status=held")).text()
    finally:
        await client.close()


async def manager_world(services) -> dict[str, int]:
    """Waiting rows of 星火 (room-xinghuo-1, and 李娜 in it) and of 绘本岛 (room-huiben-1, 王芳 in it)."""
    async with services.db.unit_of_work() as session:
        session.add_all([RoomMember(room_id="room-xinghuo-1", contact_id="wx-lina", seen_at=START),
                         RoomMember(room_id="room-huiben-1", contact_id="wx-wangfang", seen_at=START)])
        rows = {
            "xh_post": row(target="room-xinghuo-1", target_is_room=True, text="星火接龙 1. 李*", status="proposed",
                           task_id="msg-xh"),
            "hb_post": row(target="room-huiben-1", target_is_room=True, text="绘本岛接龙 1. 王*", status="proposed",
                           task_id="msg-hb"),
            "xh_held": row(target="wx-lina", text="星火的加入方法", status="held"),
            "hb_held": row(target="wx-wangfang", text="绘本岛的本月收益", status="held"),
            "xh_expired": row(target="room-xinghuo-2", target_is_room=True, text="星火排行榜", status="expired",
                              task_id="msg-xh-old"),
            "hb_expired": row(target="room-huiben-1", target_is_room=True, text="绘本岛排行榜", status="expired",
                              task_id="msg-hb-old"),
            "dead": row(target="room-xinghuo-1", target_is_room=True, text="失败的星火消息", status="dead"),
        }
        session.add_all(rows.values())
        await session.flush()
        return {name: r.id for name, r in rows.items()}


async def manager_client(services, transport) -> tuple[TestClient, str]:
    await make_account(services, "zhaolin", "manager", ["xinghuo"])
    client = TestClient(TestServer(web_app(services, transport)))
    await client.start_server()
    return client, await log_in(client, "zhaolin")


async def test_a_course_manager_sees_the_waiting_posts_of_their_brand_and_not_another_brands_nor_private_messages(
    services,
):
    await manager_world(services)
    client, _ = await manager_client(services, FakeTransport(capabilities=WECOM))
    try:
        overview = await (await client.get("/console")).text()
        assert 'href="/console/outbox?status=proposed">待确认群发</a>' in overview
        assert 'data-figure="proposed"><a href="/console/outbox?status=proposed">1</a>' in overview

        proposed = await (await client.get("/console/outbox")).text()
        assert "待员工确认 1" in proposed and "已过期 1" in proposed
        assert "星火接龙" in proposed and "绘本岛接龙" not in proposed
        assert "失败" not in proposed and "排队中" not in proposed  # no other tab of the outbox
        assert "等对方消息" not in proposed  # held rows are private messages (earnings): ops' alone

        held = await client.get("/console/outbox?status=held")
        assert held.status == 403 and "星火的加入方法" not in await held.text()
        expired = await (await client.get("/console/outbox?status=expired")).text()
        assert "星火排行榜" in expired and "绘本岛排行榜" not in expired
    finally:
        await client.close()


async def test_a_course_manager_reminds_for_their_brands_post_but_gets_404_for_another_brands(services):
    ids = await manager_world(services)
    transport = FakeTransport(capabilities=WECOM)
    client, csrf = await manager_client(services, transport)
    try:
        page = await (await client.get("/console/outbox?status=proposed")).text()
        assert f'action="/console/outbox/{ids["xh_post"]}/remind"' in page

        other = await client.post(f"/console/outbox/{ids['hb_post']}/remind", data={"csrf": csrf})
        assert other.status == 404
        assert transport.sent == []

        own = await client.post(f"/console/outbox/{ids['xh_post']}/remind", data={"csrf": csrf})
        assert "已提醒员工在企业微信里确认群发" in await own.text()
        assert [(s.kind, s.target) for s in transport.sent] == [("post_remind", "msg-xh")]
    finally:
        await client.close()


async def test_a_course_manager_gets_no_other_part_of_the_outbox(services):
    ids = await manager_world(services)
    client, csrf = await manager_client(services, FakeTransport(capabilities=WECOM))
    try:
        for status in ("dead", "queued", "sent", "uncertain", "dropped", "held"):
            response = await client.get(f"/console/outbox?status={status}")
            assert response.status == 403, status
        retry = await client.post(f"/console/outbox/{ids['dead']}/retry", data={"csrf": csrf})
        drop = await client.post(f"/console/outbox/{ids['xh_held']}/drop", data={"csrf": csrf})
        assert (retry.status, drop.status) == (403, 403)
        async with services.db.reading() as session:
            assert (await session.get(OutboxMessage, ids["xh_held"])).status == "held"
    finally:
        await client.close()

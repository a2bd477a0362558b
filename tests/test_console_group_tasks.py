"""Ops see, on the console's outbox page, the group posts waiting for a staff member's
confirmation (with a reminder action), the private messages held for the person's next message,
and the posts that expired."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from bot.app import web_app
from bot.transports.wecom_transport import WECOM
from models import OutboxMessage
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

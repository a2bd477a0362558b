"""Messages whose outcome is unknown on the console's outbox page: ops see them with why, and
send each again or drop it."""

from __future__ import annotations

from models import OutboxMessage
from tests.console_support import log_in, make_account
from tests.support import START

WHY = "send_text wx-lina: no answer from the puppet service within 15 s; it may or may not have gone out"


async def add_uncertain(services, *targets: str) -> list[int]:
    async with services.db.unit_of_work() as session:
        rows = []
        for target in targets:
            row = OutboxMessage(account="helper", kind="text", target=target, template="t", text="本月收益 144.00 元")
            row.status, row.attempts, row.last_error, row.created_at, row.not_before = "uncertain", 1, WHY, START, START
            rows.append(row)
        session.add_all(rows)
        await session.flush()
        return [r.id for r in rows]


async def test_ops_see_uncertain_messages_with_why_and_send_one_again_and_drop_another(client, services):
    again, drop = await add_uncertain(services, "wx-lina", "wx-zhangwei")
    await make_account(services, "xiaomei")
    csrf = await log_in(client, "xiaomei")

    page = await (await client.get("/console/outbox?status=uncertain")).text()
    retried = await client.post(f"/console/outbox/{again}/retry", data={"csrf": csrf})
    dropped = await client.post(f"/console/outbox/{drop}/drop", data={"csrf": csrf})
    twice = await client.post(f"/console/outbox/{drop}/drop", data={"csrf": csrf})
    forged = await client.post(f"/console/outbox/{drop}/retry", data={"csrf": "forged"})
    listed_dropped = await (await client.get("/console/outbox?status=dropped")).text()

    assert "待确认 2" in page and WHY in page and "可能已经发出，也可能没有" in page
    assert page.count('action="/console/outbox/') == 4  # send again and drop, for each
    assert "消息已重新排队" in await retried.text()
    assert "消息已放弃，不会再发送" in await dropped.text() and "状态已变化" in await twice.text()
    assert forged.status == 403
    assert f'id="message-{drop}"' in listed_dropped
    async with services.db.reading() as session:
        assert (await session.get(OutboxMessage, again)).status == "queued"
        assert (await session.get(OutboxMessage, drop)).status == "dropped"


async def test_a_manager_cannot_resolve_outbox_messages(client, services):
    [message] = await add_uncertain(services, "wx-lina")
    await make_account(services, "zhaolin", "manager", ["xinghuo"])
    csrf = await log_in(client, "zhaolin")

    refused = await client.post(f"/console/outbox/{message}/drop", data={"csrf": csrf})

    assert refused.status == 403
    async with services.db.reading() as session:
        assert (await session.get(OutboxMessage, message)).status == "uncertain"

"""The bot on the wechaty transport, database and all, against the fake puppet service: the outbox
through an outage longer than every retry, sends answered too late, and co-learning enrolment
when the helper's WeChat id is not its account name."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import select

import handlers
from bot.base.config import RateLimits
from bot.base.env import Env
from bot.runtime.dispatch import Dispatcher
from bot.runtime.sender import OutboxSender
from bot.transports.wechaty_adapter import WechatyTransport
from models import ColearningApplication, OutboxMessage
from services.colearning import approve_application
from tests.support import START, TOKEN, web_client
from tests.wechaty.puppet_server import HELPER_WXID, FakePuppetService
from tests.wechaty.support import ROOM, Sink, eventually, transport_for

AUTH = {"Authorization": f"Bearer {TOKEN}"}
FAST = RateLimits(account_interval_seconds=Decimal(0), room_interval_seconds=Decimal(0), jitter_seconds=Decimal(0))


async def queue(services: Env, *texts: tuple[str, str]) -> None:
    """Outbox rows as handlers write them: (target, text); targets starting "room-" are rooms."""
    async with services.db.unit_of_work() as session:
        for target, text in texts:
            row = OutboxMessage(account="helper", kind="text", target=target, template="t", text=text, payload={})
            row.target_is_room, row.created_at, row.not_before = target.startswith("room-"), START, START
            session.add(row)


async def rows(services: Env) -> list[OutboxMessage]:
    async with services.db.reading() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def texts_sent(server: FakePuppetService) -> list[str]:
    return [r.text for r in server.requests("MessageSendText")]


@pytest.fixture
async def sender(services: Env, transport: WechatyTransport) -> AsyncIterator[OutboxSender]:
    running = OutboxSender(services, transport, FAST)
    running.start()
    yield running
    await running.stop()


QUEUED = (("c1", "本月收益 144.00 元"), ("c2", "升级还差 2 单"), (ROOM, "1. 李** 出单"))


async def test_an_outage_longer_than_every_retry_dead_letters_nothing_and_everything_goes_out_after(
    services: Env, transport: WechatyTransport, server: FakePuppetService, sender: OutboxSender
) -> None:
    await server.stop()
    await eventually(lambda: not transport.can_send())
    await queue(services, *QUEUED)
    for _ in range(18):  # three minutes pass: the retries (5, 10, 20, 40 s) would all have run out
        services.clock.advance(seconds=10)  # type: ignore[attr-defined]
        sender.wake.set()
        await asyncio.sleep(0.05)  # time for a sender that does not wait to try (and fail)

    during = await rows(services)
    await server.start(port=server.port)
    await eventually(lambda: len(server.requests("MessageSendText")) == 3)
    await eventually(lambda: sender.sent == 3)

    assert {(r.status, r.attempts) for r in during} == {("queued", 0)}
    assert sorted(texts_sent(server)) == sorted(text for _, text in QUEUED)
    assert {(r.status, r.attempts) for r in await rows(services)} == {("sent", 1)}


async def test_what_was_queued_before_login_waits_for_it_and_goes_out_on_the_first_attempt(
    services: Env, server: FakePuppetService, sink: Sink
) -> None:
    await queue(services, *QUEUED)
    transport = transport_for(server)
    sender = OutboxSender(services, transport, FAST)
    sender.start()  # before the transport is up, as at start: the material post is queued already
    try:
        await asyncio.sleep(0.2)  # time for a sender that does not wait to try (and fail)
        await transport.start(sink)
        await eventually(lambda: sender.sent == 3)
    finally:
        await sender.stop()
        await transport.stop()

    assert {(r.status, r.attempts) for r in await rows(services)} == {("sent", 1)}


async def test_a_send_answered_too_late_is_uncertain_not_sent_again_and_ops_resolve_it(
    services: Env, server: FakePuppetService, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    transport = transport_for(server, call_timeout=0.3)
    await transport.start(sink)
    sender = OutboxSender(services, transport, FAST)
    try:
        assert await transport.wait_logged_in(timeout=3)
        server.latency = lambda call: 1.0 if call.method == "MessageSendText" else 0.0
        await queue(services, ("c1", "本月收益 144.00 元"), ("c2", "升级还差 2 单"))
        sender.start()
        await eventually(lambda: len(server.requests("MessageSendText")) == 2)
        await eventually(lambda: caplog.text.count("kept as uncertain") == 2)
        services.clock.advance(minutes=10)  # type: ignore[attr-defined]  # any retry would be due
        sender.wake.set()
        server.latency = None
        async with web_client(services) as client:
            listed = await (await client.get("/api/outbox?status=uncertain", headers=AUTH)).json()
            first, second = (m["id"] for m in sorted(listed["messages"], key=lambda m: m["id"]))
            dropped = await client.post(f"/api/outbox/{first}/drop", headers=AUTH)
            retried = await client.post(f"/api/outbox/{second}/retry", headers=AUTH)
            again = await client.post(f"/api/outbox/{first}/retry", headers=AUTH)
            await eventually(lambda: sender.sent == 1)
    finally:
        await sender.stop()
        await transport.stop()

    assert listed["counts"]["uncertain"] == 2 and listed["counts"]["dead"] == 0
    assert listed["messages"][0]["last_error"] == (
        "send_text c2: no answer from the puppet service within 0.3 s; it may or may not have gone out"
    )
    warning = next(r for r in caplog.records if "kept as uncertain" in r.getMessage())
    assert warning.levelno == logging.WARNING and "TimeoutError" not in warning.getMessage()
    assert (dropped.status, retried.status, again.status) == (200, 200, 409)
    assert texts_sent(server) == ["本月收益 144.00 元", "升级还差 2 单", "升级还差 2 单"]  # c2 again: ops asked
    assert [r.status for r in await rows(services)] == ["dropped", "sent"]


async def test_co_learning_enrolment_completes_when_the_helper_joins_under_its_wechat_id(
    services: Env, server: FakePuppetService, sink: Sink
) -> None:
    server.add_contact("wx-lina", "李娜")
    server.add_contact("ops-xiaomei", "小美")  # ops hear of the application
    server.add_room("room-lina", "李娜的宝妈群", ["wx-lina", "p1", "p2"])
    server.rooms["room-lina"].member_ids.remove(HELPER_WXID)  # the helper is only invited so far
    transport = transport_for(server)
    dispatcher = Dispatcher(services, handlers.ROUTERS, transport)
    sender = OutboxSender(services, transport, FAST)
    dispatcher.start()
    await transport.start(dispatcher.submit)
    sender.start()
    try:
        assert await transport.wait_logged_in(timeout=3)
        server.room_invitation("wx-lina", "李娜的宝妈群", ["wx-lina", "p1", "p2"], room="room-lina")
        application = await _application(services, "pending")
        async with services.context() as ctx:
            await approve_application(ctx, application.id)
        sender.wake.set()
        enrolled = await _application(services, "enrolled")
    finally:
        await sender.stop()
        await transport.stop()
        await dispatcher.stop()

    assert (enrolled.room_id, enrolled.account) == ("room-lina", "helper")
    assert transport.account != HELPER_WXID and HELPER_WXID in server.rooms["room-lina"].member_ids


async def _application(services: Env, status: str) -> ColearningApplication:
    """The one application, once it has ``status`` (waited for: the bot works asynchronously)."""
    async with asyncio.timeout(5):
        while True:
            async with services.db.reading() as session:
                found = await session.scalar(select(ColearningApplication))
            if found is not None and found.status == status:
                return found
            await asyncio.sleep(0.05)

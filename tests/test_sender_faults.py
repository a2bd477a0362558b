"""The outbox sender when the transport is down or does not answer: paused, not failing; a send
whose outcome is unknown is kept for ops, never sent again on its own."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from bot.base.transport import NotConnected, Uncertain
from models import OutboxMessage
from tests.fakes import FakeTransport
from tests.test_sender import drain, queue, sender_for


async def rows(services) -> list[tuple[str, int, str]]:
    async with services.db.reading() as session:
        found = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(r.status, r.attempts, r.last_error) for r in found]


async def test_a_disconnected_transport_pauses_the_sender_however_long_and_it_sends_everything_when_back(
    services, caplog
):
    caplog.set_level(logging.INFO, "bot.runtime.sender")
    await queue(services, {"target": "a", "text": "1"}, {"target": "b", "text": "2"})
    transport = FakeTransport()
    transport.connected.clear()
    sender = sender_for(services, transport)
    sender.start()
    try:
        for _ in range(20):  # ten minutes: every retry of a failing send would have run out
            services.clock.advance(seconds=30)
            sender.wake.set()
            await asyncio.sleep(0.01)
        paused = await rows(services)
        transport.connected.set()
        async with asyncio.timeout(3):
            while sender.sent < 2:
                await asyncio.sleep(0.01)
    finally:
        await sender.stop()

    assert transport.tried == 2 and [s.text for s in transport.sent] == ["1", "2"]
    assert paused == [("queued", 0, ""), ("queued", 0, "")]
    assert [(status, attempts) for status, attempts, _ in await rows(services)] == [("sent", 1), ("sent", 1)]
    said = [r.getMessage() for r in caplog.records if r.name == "bot.runtime.sender"]
    assert said[:2] == [
        "outbox: helper cannot send (fake not connected); sending paused",
        "outbox: helper connected again; sending resumed",
    ]


async def test_a_send_refused_as_not_connected_goes_back_to_the_queue_without_counting_an_attempt(services):
    await queue(services, {"target": "a"})
    transport = FakeTransport(fail_next=[NotConnected("send_text a: not connected to the puppet service")])
    sender = sender_for(services, transport)

    wait = await sender.send_next()

    assert wait == sender.poll
    assert await rows(services) == [("queued", 0, "")]
    await drain(sender)
    assert [s.target for s in transport.sent] == ["a"]


async def test_stopping_a_paused_sender_ends_it_and_leaves_the_queue_as_it_was(services):
    await queue(services, {"target": "a"})
    transport = FakeTransport()
    transport.connected.clear()
    sender = sender_for(services, transport)
    sender.start()
    await asyncio.sleep(0.01)

    async with asyncio.timeout(1):
        await sender.stop()

    assert transport.tried == 0 and await rows(services) == [("queued", 0, "")]


async def test_a_send_with_an_unknown_outcome_is_kept_as_uncertain_and_never_sent_again_by_itself(services, caplog):
    lines = [{"target": "room-1", "room": True, "text": f"{i}. 李** 出单", "key": "relay:room-1"} for i in (1, 2)]
    await queue(services, {"target": "wx-lina", "text": "本月收益 144.00 元"}, *lines)
    why = "send_text wx-lina: no answer from the puppet service within 15 s; it may or may not have gone out"
    transport = FakeTransport(fail_next=[Uncertain("relay lines"), Uncertain(why)])
    sender = sender_for(services, transport)

    await drain(sender)
    services.clock.advance(hours=1)  # any retry would be due
    await drain(sender)

    assert transport.sent == [] and transport.tried == 2
    assert await rows(services) == [
        ("uncertain", 1, why),
        ("uncertain", 1, "relay lines"),  # coalesced: both lines went out as one message, or not
        ("uncertain", 1, "relay lines"),
    ]
    warning = next(r for r in caplog.records if "wx-lina" in r.getMessage())
    assert warning.levelno == logging.WARNING
    assert warning.getMessage() == (
        f"outbox: 1 to wx-lina: outcome unknown ({why}); kept as uncertain, not sent again until ops retry or drop it"
    )

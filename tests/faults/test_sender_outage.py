"""The outbox sender through a database outage: it never ends, sends everything queued once the
database is back, records a message it sent just before the outage as sent (not twice), and
stops within its grace period whatever the database does."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from bot.base.config import RateLimits
from bot.runtime.sender import OutboxSender
from models import OutboxMessage
from tests.fakes import FakeTransport
from tests.faults.support import DatabaseFault, eventually, outage_lines, outage_over
from tests.support import START

FAULT_DRILL = True  # `services` with short waits: tests/faults/conftest.py

FAST = RateLimits(account_interval_seconds=0, room_interval_seconds=0, jitter_seconds=0)


async def queue_dms(services, count: int) -> None:
    async with services.db.unit_of_work() as session:
        session.add_all(
            OutboxMessage(
                account="helper", kind="text", target=f"p{i}", template="t", text=f"第{i}条", payload={},
                created_at=START, not_before=START,
            )
            for i in range(count)
        )  # fmt: skip


async def statuses(services) -> list[str]:
    async with services.db.reading() as session:
        return list(await session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))


@pytest.mark.parametrize("dialect", ["sqlite"])  # PostgreSQL: the test below and the chat drill
async def test_a_sender_started_while_the_database_is_out_sends_everything_once_it_is_back(services, caplog):
    await queue_dms(services, 30)
    transport = FakeTransport()
    sender = OutboxSender(services, transport, FAST)
    async with DatabaseFault(services) as fault:
        sender.start()  # its first step, taking back rows left "sending", meets the outage
        await asyncio.sleep(0.5)
        assert sender.running and transport.sent == []
        await fault.end()
        await eventually(lambda: _sent(transport, 30), 15, "30 sends")
    assert sender.running
    await outage_over(services)
    await sender.stop(grace=2)
    assert [s.target for s in transport.sent] == [f"p{i}" for i in range(30)]
    assert await statuses(services) == ["sent"] * 30
    assert outage_lines(caplog) == (1, 1)


async def _sent(transport: FakeTransport, count: int) -> bool:
    return len(transport.sent) >= count


async def test_an_outage_in_the_middle_of_sending_delays_the_rest_and_loses_none(services, caplog):
    await queue_dms(services, 20)
    fault = DatabaseFault(services)

    class CutOff(FakeTransport):
        async def send_text(self, target, text, **kw):
            sent = await super().send_text(target, text, **kw)
            if len(self.sent) == 5:
                await fault.begin()  # the database goes away right after the fifth send
            return sent

    transport = CutOff()
    sender = OutboxSender(services, transport, FAST)
    sender.start()
    await eventually(lambda: _sent(transport, 5), 10, "five sends")
    await asyncio.sleep(0.5)
    assert len(transport.sent) == 5 and sender.running
    await fault.end()
    await eventually(lambda: _sent(transport, 20), 15, "twenty sends")
    await outage_over(services)
    await sender.stop(grace=2)
    # The fifth went out before the outage: recorded as sent once it was back, not sent again.
    assert [s.target for s in transport.sent] == [f"p{i}" for i in range(20)]
    assert await statuses(services) == ["sent"] * 20
    assert outage_lines(caplog) == (1, 1)


@pytest.mark.parametrize("dialect", ["sqlite"])  # PostgreSQL: the test below and the chat drill
async def test_a_sender_stopping_while_the_database_is_out_stops_within_its_grace_period(services):
    await queue_dms(services, 3)
    transport = FakeTransport()
    sender = OutboxSender(services, transport, FAST)
    async with DatabaseFault(services):
        sender.start()
        await asyncio.sleep(0.5)
        started = time.monotonic()
        await sender.stop(grace=1.0)
        took = time.monotonic() - started
    assert took < 1.5 and not sender.running
    assert await statuses(services) == ["queued"] * 3  # still owed: the next start sends them

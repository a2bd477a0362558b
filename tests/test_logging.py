"""What the log says while the bot runs: a line per accepted order and per handled batch of
messages, each with its ids; a line per failed send; nothing from the timer."""

from __future__ import annotations

import logging

import pytest

import handlers
from bot.base.logs import configure_logging
from bot.base.transport import Message, TransportError
from bot.runtime.dispatch import Dispatcher
from bot.runtime.sender import OutboxSender
from models import OutboxMessage
from tests.fakes import FakeTransport
from tests.support import START, order_event, post_event


async def test_an_accepted_order_is_one_info_line_with_its_order_event_seller_and_payouts(client, caplog):
    caplog.set_level(logging.INFO, logger="services.orders")

    status, _ = await post_event(client, order_event("o-77", ref="DEMOC001", event_id="e-77"))
    await post_event(client, order_event("o-77", ref="DEMOC001", event_id="e-77"))  # a replay: no line

    assert status == 200
    [line] = [r.getMessage() for r in caplog.records if r.name == "services.orders"]
    assert line.startswith("order o-77: paid event e-77 accepted (webhook): XH-MATH-S1 ×1, 399.00; seller DEMOC001")
    assert line.endswith("; paid DEMOC001 seller 144.00, DEMOB001 management 7.20")


async def test_a_handled_batch_of_messages_is_one_info_line_naming_each_message_and_its_route(services, caplog):
    caplog.set_level(logging.INFO, logger="bot.runtime.dispatch")
    dispatcher = Dispatcher(services, handlers.ROUTERS, FakeTransport())
    dispatcher.start()

    await dispatcher.submit(Message(id="m-41", sender="wx-lina", sender_name="李娜", text="帮助", at=START))
    await dispatcher.stop()

    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.runtime.dispatch"]
    assert line.startswith("handled 1 event(s) in one transaction: message m-41 from wx-lina → ")


class BrokenTransport(FakeTransport):
    async def send_text(self, target, text, *, room=False, mentions=(), ref=""):
        raise TransportError("puppet service unavailable")


async def test_a_failed_send_is_one_warning_line_with_the_outbox_id_and_target(services, caplog):
    caplog.set_level(logging.INFO, logger="bot.runtime.sender")
    async with services.db.unit_of_work() as session:
        row = OutboxMessage(
            account="helper", kind="text", target="wx-lina", template="t", text="你好", created_at=START,
            not_before=START,
        )  # fmt: skip
        session.add(row)
        await session.flush()
        row_id = row.id
    transport = BrokenTransport()
    sender = OutboxSender(services, transport, services.settings.raw.outbox.sim_limits, account="helper")

    await sender.send_next()

    [line] = [r for r in caplog.records if r.name == "bot.runtime.sender"]
    assert line.levelno == logging.WARNING
    assert line.getMessage().startswith(f"outbox: sending {row_id} to wx-lina failed (attempt 1)")


@pytest.mark.parametrize("logger", ["apscheduler.executors.default", "apscheduler.scheduler", "alembic.runtime"])
def test_the_timer_and_migrations_log_only_warnings_while_the_bot_logs_its_info_lines(logger):
    root = logging.getLogger()
    before = root.level
    root.setLevel(logging.INFO)  # as `distbot run` has it (pytest's own root level is WARNING)
    try:
        configure_logging()

        assert not logging.getLogger(logger).isEnabledFor(logging.INFO)
        assert logging.getLogger(logger).isEnabledFor(logging.WARNING)
        assert logging.getLogger("services.orders").isEnabledFor(logging.INFO)
    finally:
        root.setLevel(before)

"""Structured logs: one JSON object a line, and a webhook's event id tying the call to the
ledger lines and the outbox rows it wrote."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.base.logs import TRACE_LOGGER, JsonLines
from models import LedgerLine, OutboxMessage
from tests.support import order_event, post_event


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonLines())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    handler, root, traced = Lines(), logging.getLogger(), logging.getLogger(TRACE_LOGGER)
    level, traced_level = root.level, traced.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    traced.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)
    traced.setLevel(traced_level)


async def test_a_webhooks_lines_carry_its_event_id_and_name_the_ledger_lines_and_messages_it_wrote(
    services, client, json_lines
):
    status, _ = await post_event(client, order_event("o-log-1", ref="DEMOC001", event_id="e-log-1"))
    assert status == 200

    traced = [line for line in json_lines.lines if line.get("trace") == "webhook:e-log-1"]
    accepted = next(line for line in traced if "order o-log-1: paid event e-log-1 accepted" in line["message"])
    assert accepted["level"] == "INFO" and accepted["logger"] == "services.orders"
    wrote = next(line for line in traced if line["logger"] == TRACE_LOGGER)
    async with services.db.reading() as session:
        ledger = set((await session.scalars(select(LedgerLine.id))).all())
        outbox = set((await session.scalars(select(OutboxMessage.id))).all())
    assert set(wrote["ledger_lines"]) == ledger and ledger
    assert set(wrote["outbox"]) == outbox and outbox

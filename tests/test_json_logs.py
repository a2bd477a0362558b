"""Structured logs: one JSON object a line, and a webhook's event id tying the call to the
ledger lines and the outbox rows it wrote."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.base.logs import TRACE_LOGGER, JsonLines
from models import LedgerLine, OutboxMessage
from services.order_batch import OrderBatcher
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


async def test_two_webhooks_committed_in_one_batch_each_name_only_what_their_own_order_wrote(
    services, client, json_lines
):
    batcher = services.kept(OrderBatcher)
    events = [
        order_event("o-log-a", buyer="b-a", ref="DEMOC001", event_id="e-log-a"),
        order_event("o-log-b", buyer="b-b", ref="DEMOC002", event_id="e-log-b"),
    ]
    results = await asyncio.gather(*(post_event(client, e) for e in events))
    assert [status for status, _ in results] == [200, 200]
    assert batcher.sets == 1  # the two went in one transaction, written as sets

    wrote = {line["trace"]: line for line in json_lines.lines if line["logger"] == TRACE_LOGGER}
    assert set(wrote) == {"webhook:e-log-a", "webhook:e-log-b"}
    async with services.db.reading() as session:
        by_event = dict(
            (event_id, set(ids))
            for event_id, ids in itertools.groupby(
                (await session.execute(select(LedgerLine.event_id, LedgerLine.id).order_by(LedgerLine.event_id))).all(),
                key=lambda row: row[0],
            )
            for ids in [[row[1] for row in ids]]
        )
        outbox = set((await session.scalars(select(OutboxMessage.id))).all())
    for event_id in ("e-log-a", "e-log-b"):
        assert set(wrote[f"webhook:{event_id}"]["ledger_lines"]) == by_event[event_id]
        assert wrote[f"webhook:{event_id}"]["outbox"]  # each order's own messages
    outbox_a, outbox_b = (set(wrote[f"webhook:{e}"]["outbox"]) for e in ("e-log-a", "e-log-b"))
    assert not outbox_a & outbox_b and outbox_a | outbox_b == outbox

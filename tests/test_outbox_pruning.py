"""Sent rows are deleted after ``outbox.keep_sent_days``; what ops may still act on stays."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.base.env import Env
from models import OutboxMessage
from models.statuses import OutboxStatus
from services.outbox import prune_sent
from tests.support import START, edited_settings, running_services


async def test_rows_sent_before_the_retention_are_deleted_and_everything_else_stays(services):
    old = START - timedelta(days=31)
    recent = START - timedelta(days=29)
    rows = {
        "old sent": (OutboxStatus.SENT, old),
        "recent sent": (OutboxStatus.SENT, recent),
        "old dead": (OutboxStatus.DEAD, None),
        "old uncertain": (OutboxStatus.UNCERTAIN, None),
        "queued": (OutboxStatus.QUEUED, None),
    }
    async with services.db.unit_of_work() as session:
        for text, (status, sent_at) in rows.items():
            session.add(
                OutboxMessage(
                    account="helper", kind="text", target="wx-lina", template="t", text=text, status=status,
                    created_at=old, not_before=old, sent_at=sent_at,
                )
            )  # fmt: skip

    assert await prune_sent(services, batch=1) == 1

    async with services.db.reading() as session:
        left = set(await session.scalars(select(OutboxMessage.text)))
    assert left == {"recent sent", "old dead", "old uncertain", "queued"}


async def test_without_a_retention_nothing_is_deleted(databases, dialect):
    settings = edited_settings(("keep_sent_days: 30", "keep_sent_days: null"))
    async with running_services(databases, dialect, settings) as services:
        await _keep_forever(services)


async def _keep_forever(services: Env) -> None:
    old = START - timedelta(days=400)
    async with services.db.unit_of_work() as session:
        session.add(
            OutboxMessage(
                account="helper", kind="text", target="wx-lina", template="t", text="x",
                status=OutboxStatus.SENT, created_at=old, not_before=old, sent_at=old,
            )
        )  # fmt: skip

    assert await prune_sent(services) == 0
    async with services.db.reading() as session:
        assert list(await session.scalars(select(OutboxMessage.text))) == ["x"]

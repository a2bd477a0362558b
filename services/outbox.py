"""The outbox as ops see it (:func:`overview`), and what they do with the messages the sender
gave up on: send a dead or uncertain one again, or drop it so it is never sent; the sent
history's retention (:func:`prune_sent`)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.config import Settings
from bot.base.context import Context
from bot.base.env import Env
from bot.base.outbox import DROP_REASONS, drops_on
from bot.base.priorities import Priority
from models import outbox_queries as box
from models.base import rowcount
from models.messaging import OutboxMessage
from models.statuses import FOR_OPS, OutboxStatus
from services.errors import Conflict, NotFound

log = logging.getLogger(__name__)


async def prune_sent(env: Env, batch: int = 5000) -> int:
    """Delete the rows sent more than ``outbox.keep_sent_days`` ago, ``batch`` per transaction,
    so the table holds the queue and recent history rather than every message ever sent; returns
    how many went. Safe in several processes at once (a row is deleted once, whoever does it)."""
    days = env.settings.raw.outbox.keep_sent_days
    if days is None:
        return 0
    before = env.clock.now() - timedelta(days=days)
    pruned = 0
    while True:
        async with env.db.unit_of_work() as session:
            count = await box.prune_sent(session, before, batch)
        pruned += count
        if count < batch:
            break
    if pruned:
        log.info("outbox: %d message(s) sent before %s deleted (outbox.keep_sent_days %d)", pruned, before, days)
    return pruned


async def resolve(ctx: Context, message_id: int, *, retry: bool) -> OutboxMessage:
    """Queue a dead or uncertain message again (``retry``) or drop it. Raises NotFound for an
    unknown message, Conflict when it is neither dead nor uncertain (any more)."""
    row = await ctx.session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound("no such message")
    done = await (_retry(ctx.session, message_id, ctx.now) if retry else _drop(ctx.session, message_id))
    if not done:
        raise Conflict("only a dead-lettered or uncertain message can be retried or dropped")
    return row


async def _retry(session: AsyncSession, message_id: int, now: datetime) -> bool:
    """Queue a dead or uncertain row again, attempts from zero. False if it is neither (any
    more): someone else acted first. Retrying an uncertain message may say it twice; ops
    retry it when the person says it did not arrive."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status.in_(FOR_OPS))
        .values(status=OutboxStatus.QUEUED, attempts=0, not_before=now, last_error="")
    )
    return bool(rowcount(result))


async def _drop(session: AsyncSession, message_id: int) -> bool:
    """Never send a dead or uncertain row (it arrived after all, or no longer matters); it stays
    listed as ``dropped``. False if it is neither (any more)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status.in_(FOR_OPS))
        .values(status=OutboxStatus.DROPPED)
    )
    return bool(rowcount(result))


async def overview(session: AsyncSession, settings: Settings, status: OutboxStatus, day: date) -> dict[str, Any]:
    """The outbox for ops: counts by status, queued rows by priority, what was not sent on
    purpose on ``day`` (platform time), and the latest 100 messages of ``status``."""
    counts = dict(
        (await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))).all()
    )
    waiting = dict(
        (
            await session.execute(
                select(OutboxMessage.priority, func.count())
                .where(OutboxMessage.status == OutboxStatus.QUEUED)
                .group_by(OutboxMessage.priority)
            )
        ).all()
    )
    drops = await drops_on(session, day)
    rows = await session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == status).order_by(OutboxMessage.id.desc()).limit(100)
    )
    items = [
        {
            "id": r.id,
            "account": r.account,
            "kind": r.kind,
            "target": r.target,
            "status": r.status,
            "template": r.template,
            "priority": r.priority,
            "text": r.text,
            "attempts": r.attempts,
            "last_error": r.last_error,
            "created_at": r.created_at,
            "sent_at": r.sent_at,
        }
        for r in rows
    ]
    return {
        "counts": {s: counts.get(s, 0) for s in OutboxStatus},
        # Queued rows by priority tier (bot.base.priorities), and the cap on the lowest tier.
        "queued_by_priority": {p.name.lower(): waiting.get(p.value, 0) for p in Priority},
        "low_priority_cap": settings.raw.outbox.low_priority_cap,
        # What was not sent on purpose that day (platform time): not queued at the cap,
        # answers withheld by the per-person limits, repeats of an answer just given.
        "not_queued": {
            "day": day.isoformat(),
            "total": sum(d.count for d in drops),
            "by_reason": {r: sum(d.count for d in drops if d.reason == r) for r in DROP_REASONS},
            "rows": [
                {"account": d.account, "reason": d.reason, "template": d.template, "count": d.count} for d in drops
            ],
        },
        "status": status,
        "messages": items,
    }

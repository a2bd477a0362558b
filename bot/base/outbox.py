"""Queueing what the bot owes in the outbox, inside the caller's transaction: a message is
in the database before anyone tries to send it, and exists only if its cause was committed.

Rows queued during a unit of work are kept on the session and written as one multi-row
INSERT just before it commits (one statement for a whole batch of messages, instead of an
ORM object and a flush each); a rollback discards them with the session.

Each row gets its priority from the kind of message (:mod:`bot.base.priorities`). Rows of the
lowest tier (menus, how to join, "稍后再试") are capped per helper account: when the account
already holds ``outbox.low_priority_cap`` of them queued, new ones are not written. The new
row is the one left out, not the oldest queued: the oldest was promised first and is next in
line, and rows once queued are only ever changed by the sender (no race with its claim). What
was left out — and answers withheld by the per-person limits (bot.runtime.limits) — is counted in
``outbox_drops`` per day, account, reason and template, in the same transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.base.config import Settings
from bot.base.context import Context
from bot.base.logs import TRACED_OUTBOX, trace
from bot.base.priorities import LOW, priority_of
from models import queries as q
from models.catalog import BrandGroup
from models.messaging import OutboxDrop, OutboxMessage
from models.statuses import OutboxStatus
from models.upsert import upsert

PENDING = "distbot.outbox"
WITHHELD = "distbot.outbox.withheld"  # Counter of (account, reason, template)
STAGED = "distbot.outbox.staged"  # (the day the drops count on, the cap) for this unit of work
# Messages not sent on purpose (models.messaging.OutboxDrop), not to be confused with rows ops
# dropped (models.statuses.OutboxStatus.DROPPED), which were queued once.
DROP_REASONS = ("cap", "limit", "repeat")


def queue_text(
    ctx: Context,
    *,
    target: str,
    template: str,
    data: Mapping[str, Any],
    room: bool = False,
    account: str | None = None,
    coalesce_key: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> None:
    queue_row(
        ctx,
        account=account or ctx.settings.helper_account,
        kind="text",
        target=target,
        target_is_room=room,
        template=template,
        text=ctx.renderer.render(template, data),
        payload=dict(payload or {}),
        coalesce_key=coalesce_key,
    )


def queue_row(ctx: Context, **values: Any) -> None:
    """Queue any outbox row (text, image, room add, room invitation, friend accept…)."""
    values.setdefault("account", ctx.settings.helper_account)
    values.setdefault("template", "")
    values.setdefault("text", "")
    values.setdefault("payload", {})
    values.setdefault("coalesce_key", None)
    values.setdefault("target_is_room", False)
    values.setdefault("priority", int(priority_of(values["kind"], values["template"])))
    values.update(status=OutboxStatus.QUEUED, attempts=0, last_error="", created_at=ctx.now, not_before=ctx.now)
    _stage(ctx)
    ctx.session.sync_session.info.setdefault(PENDING, []).append(values)


def count_withheld(ctx: Context, *, account: str | None, reason: str, template: str) -> None:
    """Count an answer not given (``reason``: limit | repeat), written with the unit of work."""
    _stage(ctx)
    withheld: Counter[tuple[str, str, str]] = ctx.session.sync_session.info.setdefault(WITHHELD, Counter())
    withheld[(account or ctx.settings.helper_account, reason, template)] += 1


def _stage(ctx: Context) -> None:
    info = ctx.session.sync_session.info
    if STAGED not in info:
        info[STAGED] = (local_day(ctx.settings, ctx.now), ctx.settings.raw.outbox.low_priority_cap)


@event.listens_for(Session, "before_commit")
def _write_queued(session: Session) -> None:
    rows = session.info.pop(PENDING, None)
    withheld: Counter[tuple[str, str, str]] = session.info.pop(WITHHELD, None) or Counter()
    day, cap = session.info.pop(STAGED, (None, None))
    if rows and cap is not None:
        rows = _within_cap(session, rows, cap, withheld)
    if rows:
        if trace.get():  # a traced call: its log names the rows it queued (bot.base.db)
            statement = insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True)
            session.info[TRACED_OUTBOX] = list(session.scalars(statement, rows))
        else:
            session.execute(insert(OutboxMessage), rows)
    if withheld and day is not None:
        _count(session, day, withheld)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    for key in (WITHHELD, STAGED):
        session.info.pop(key, None)


def _within_cap(
    session: Session, rows: list[dict[str, Any]], cap: int, dropped: Counter[tuple[str, str, str]]
) -> list[dict[str, Any]]:
    """The rows to write: every row above the lowest tier, and low ones while the account's
    queued low rows stay within ``cap``; the rest are counted in ``dropped``."""
    accounts = {r["account"] for r in rows if r["priority"] >= LOW}
    if not accounts:
        return rows
    held = dict(
        session.execute(
            select(OutboxMessage.account, func.count())
            .where(
                OutboxMessage.status == OutboxStatus.QUEUED,
                OutboxMessage.priority >= LOW,
                OutboxMessage.account.in_(accounts),
            )
            .group_by(OutboxMessage.account)
        ).all()
    )
    kept = []
    for row in rows:
        if row["priority"] >= LOW:
            account = row["account"]
            if held.get(account, 0) >= cap:
                dropped[(account, "cap", row["template"])] += 1
                continue
            held[account] = held.get(account, 0) + 1
        kept.append(row)
    return kept


def _count(session: Session, day: date, counts: Counter[tuple[str, str, str]]) -> None:
    values = [
        {"day": day, "account": account, "reason": reason, "template": template, "count": n}
        for (account, reason, template), n in sorted(counts.items())
    ]
    session.execute(
        upsert(
            session,
            OutboxDrop,
            values,
            on=["day", "account", "reason", "template"],
            # excluded["count"], not .count: a column collection has a count() method of its own
            set_=lambda excluded: {"count": OutboxDrop.count + excluded["count"]},
        )
    )


def local_day(settings: Settings, now: datetime) -> date:
    """The platform's calendar day at ``now`` (drops are counted per local day)."""
    return now.astimezone(ZoneInfo(settings.raw.platform.timezone)).date()


async def drops_on(session: AsyncSession, day: date) -> list[OutboxDrop]:
    """What was not sent on ``day``, most first."""
    return list(
        await session.scalars(
            select(OutboxDrop)
            .where(OutboxDrop.day == day)
            .order_by(OutboxDrop.count.desc(), OutboxDrop.account, OutboxDrop.reason, OutboxDrop.template)
        )
    )


async def post_to_brand_groups(
    ctx: Context, brand_id: str, template: str, data: dict[str, Any], *, coalesce: str | None = None
) -> list[BrandGroup]:
    """Queue the same message for every group of the brand; returns the groups."""
    groups = await q.brand_groups(ctx.session, brand_id)
    for group in groups:
        queue_text(
            ctx,
            target=group.room_id,
            room=True,
            account=group.account,
            template=template,
            data=data,
            coalesce_key=f"{coalesce}:{group.room_id}" if coalesce else None,
        )
    return groups


"""Queueing what the bot owes in the outbox, inside the caller's transaction: a message is
in the database before anyone tries to send it, and exists only if its cause was committed.

Rows queued during a unit of work are kept with it (``bot.base.uow``: ``ctx.uow``) and written
as one multi-row INSERT just before it commits (one statement for a whole batch of messages,
instead of an ORM object and a flush each); a rollback discards them with the unit of work.
:func:`queued_row` finds a row queued earlier in the same unit of work (a welcome that absorbs
newcomers of the next join of the batch).

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
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.config import Settings
from bot.base.context import Context
from bot.base.logs import trace
from bot.base.priorities import LOW, priority_of
from bot.base.tracing import written
from models import queries as q
from models.catalog import BrandGroup
from models.messaging import OutboxDrop, OutboxMessage
from models.new_ids import by_call, insert_ids
from models.statuses import OutboxStatus
from models.upsert import upsert

OUTBOX_TABLE = cast(Table, OutboxMessage.__table__)
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
    queued = _queued(ctx)
    queued.rows.append(values)
    queued.traces.append(trace.get())


def count_withheld(ctx: Context, *, account: str | None, reason: str, template: str) -> None:
    """Count an answer not given (``reason``: limit | repeat), written with the unit of work."""
    _queued(ctx).withheld[(account or ctx.settings.helper_account, reason, template)] += 1


def queued_row(ctx: Context, *, template: str, target: str) -> dict[str, Any] | None:
    """The first row for ``target`` with ``template`` queued earlier in this unit of work, not
    written yet: what is changed in it is what will be written."""
    return next((r for r in _queued(ctx).rows if r["template"] == template and r["target"] == target), None)


class _Queued:
    """The outbox rows and withheld answers of one unit of work, written just before it commits
    (the day the drops count on and the cap read once, when the first row is queued)."""

    def __init__(self, ctx: Context):
        self.session = ctx.session
        self.uow = ctx.uow
        self.day = local_day(ctx.settings, ctx.now)
        self.cap = ctx.settings.raw.outbox.low_priority_cap
        self.rows: list[dict[str, Any]] = []
        self.traces: list[str] = []  # the call each row was queued for (bot.base.tracing)
        self.withheld: Counter[tuple[str, str, str]] = Counter()
        ctx.uow.before_commit(self.write)

    async def write(self) -> None:
        rows, traces = self.rows, self.traces
        if rows and self.cap is not None:
            kept = await _within_cap(self.session, rows, self.cap, self.withheld)
            left = {id(row) for row in kept}
            traces = [t for row, t in zip(rows, traces, strict=True) if id(row) in left]
            rows = kept
        record = written(self.uow) if any(traces) else None
        if rows:
            # The table, not the mapped class: a plain executemany, without the ORM's bulk path
            # (a third of the cost per row in bench/dispatch.py).
            if record is not None:  # a traced call: its log names the rows it queued
                # One statement for all the calls, its ids in the rows' order (models.new_ids).
                for current, mine in by_call(await insert_ids(self.session, OUTBOX_TABLE, rows), traces).items():
                    record.queued(current, mine)
            else:
                await self.session.execute(insert(OUTBOX_TABLE), rows)
        if self.withheld:
            await _count(self.session, self.day, self.withheld)


def _queued(ctx: Context) -> _Queued:
    return ctx.uow.attached(_Queued, lambda: _Queued(ctx))


async def _within_cap(
    session: AsyncSession, rows: list[dict[str, Any]], cap: int, dropped: Counter[tuple[str, str, str]]
) -> list[dict[str, Any]]:
    """The rows to write: every row above the lowest tier, and low ones while the account's
    queued low rows stay within ``cap``; the rest are counted in ``dropped``."""
    accounts = {r["account"] for r in rows if r["priority"] >= LOW}
    if not accounts:
        return rows
    held = dict(
        (
            await session.execute(
                select(OutboxMessage.account, func.count())
                .where(
                    OutboxMessage.status == OutboxStatus.QUEUED,
                    OutboxMessage.priority >= LOW,
                    OutboxMessage.account.in_(accounts),
                )
                .group_by(OutboxMessage.account)
            )
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


async def _count(session: AsyncSession, day: date, counts: Counter[tuple[str, str, str]]) -> None:
    values = [
        {"day": day, "account": account, "reason": reason, "template": template, "count": n}
        for (account, reason, template), n in sorted(counts.items())
    ]
    await session.execute(
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
    """Queue the same message for every group of the brand; returns the groups. A coalesced
    message (a relay line) carries its data in ``payload["line"]`` (JSON values only): when
    a burst queues more lines than a message holds, the sender posts their digest
    (core.relay_digest) and reads the sellers from there."""
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
            payload={"line": dict(data)} if coalesce else None,
        )
    return groups

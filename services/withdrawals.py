"""Withdrawals (提现): a distributor asks by DM, ops approve or reject on the console or through
the API, finance exports what was approved.

The rules are :mod:`core.withdrawal`'s; here they meet the database. Every step locks the
distributor's row first (``SELECT … FOR UPDATE``), so two requests of one person, or an
approval racing a request, are served one after the other; the partial unique index on open
requests is the last guard should a path forget. An approval pays through
:func:`core.ledger.payout_line` (a ``paid_out`` ledger line), which refuses anything beyond the
balance at that moment. Each request, approval and rejection is in the audit log."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.config import Settings
from bot.base.context import Context
from bot.base.outbox import queue_text
from core.ledger import Earnings, PayoutRefused, payout_line, summarize
from core.withdrawal import Refusal, Standing, check_approval, check_request
from models.orders import LedgerLine
from models.people import Distributor
from models.statuses import WithdrawalStatus
from models.withdrawals import Withdrawal
from services import audit
from services.errors import Conflict, Invalid, NotFound, Refused
from services.reports import core_line, local_zone


@dataclass(frozen=True)
class Position:
    """A person's standing as the DM and the console show it."""

    person: Distributor
    earnings: Earnings
    standing: Standing
    open: Withdrawal | None


async def _locked(ctx: Context, distributor_id: int) -> Distributor:
    person = await ctx.session.scalar(select(Distributor).where(Distributor.id == distributor_id).with_for_update())
    if person is None:
        raise NotFound("no such distributor")
    return person


async def position(ctx: Context, person: Distributor) -> Position:
    rows = await ctx.session.scalars(select(LedgerLine).where(LedgerLine.distributor_id == person.id))
    earnings = summarize([core_line(row) for row in rows], ctx.now)
    open_row = await ctx.session.scalar(
        select(Withdrawal).where(
            Withdrawal.distributor_id == person.id, Withdrawal.status == WithdrawalStatus.REQUESTED
        )
    )
    standing = Standing(
        balance=earnings.balance,
        pending=earnings.pending,
        open_request=open_row.amount if open_row is not None else None,
        minimum=ctx.settings.raw.withdrawals.minimum,
    )
    return Position(person, earnings, standing, open_row)


def refusal_data(pos: Position, refusal: Refusal, amount: Decimal | None) -> dict[str, Any]:
    """What the refusal template needs to say why, with the figures."""
    return {
        "reason": refusal.value,
        "amount": amount if amount is not None else Decimal(0),
        "balance": pos.standing.balance,
        "pending": pos.standing.pending,
        "minimum": pos.standing.minimum,
        "open_amount": pos.standing.open_request if pos.standing.open_request is not None else Decimal(0),
    }


async def request_withdrawal(ctx: Context, distributor_id: int, amount: Decimal) -> Withdrawal:
    """Open a request for ``amount``; Refused (``code`` = the :class:`core.withdrawal.Refusal`,
    ``details`` = the figures) when a rule says no. Ops are told by DM."""
    person = await _locked(ctx, distributor_id)
    pos = await position(ctx, person)
    refusal = check_request(pos.standing, amount)
    if refusal is not None:
        raise Refused(refusal.value, code=refusal.value, details=refusal_data(pos, refusal, amount))
    row = Withdrawal(distributor_id=person.id, amount=amount, status=WithdrawalStatus.REQUESTED, requested_at=ctx.now)
    ctx.session.add(row)
    await ctx.session.flush()
    audit.record(
        ctx,
        "money",
        "withdrawal.request",
        subject=person.code,
        before={"balance": pos.standing.balance},
        after={"requested": amount, "withdrawal": row.id},
    )
    for ops in ctx.settings.raw.ops:
        queue_text(
            ctx,
            target=ops,
            template="withdrawal_ops",
            data={"name": person.name, "code": person.code, "amount": amount, "balance": pos.standing.balance},
        )
    return row


async def _open(ctx: Context, withdrawal_id: int) -> tuple[Withdrawal, Distributor]:
    found = await ctx.session.get(Withdrawal, withdrawal_id)
    if found is None:
        raise NotFound(f"no withdrawal has the id {withdrawal_id}")
    person = await _locked(ctx, found.distributor_id)  # the person first, as a request does
    row = await ctx.session.get(Withdrawal, withdrawal_id, with_for_update=True, populate_existing=True)
    assert row is not None
    if row.status != WithdrawalStatus.REQUESTED:
        raise Conflict(f"the withdrawal is already {row.status}", details={"status": row.status})
    return row, person


async def approve(ctx: Context, withdrawal_id: int) -> Withdrawal:
    """Pay the request out: a ``paid_out`` ledger line, the balance drops, the person is told.
    Conflict when it was decided already; Refused when the balance no longer covers it (a refund
    came in since): reject it then, saying why."""
    row, person = await _open(ctx, withdrawal_id)
    pos = await position(ctx, person)
    refusal = check_approval(pos.earnings.balance, row.amount)
    if refusal is not None:
        raise Refused(refusal.value, code=refusal.value, details=refusal_data(pos, refusal, row.amount))
    try:
        line = payout_line(str(person.id), row.amount, pos.earnings, ctx.now)
    except PayoutRefused as exc:  # the same rule, said by the ledger
        raise Refused(str(exc), code=Refusal.ABOVE_BALANCE.value) from None
    ledger = LedgerLine.from_core(
        line, order_id=None, detail={"withdrawal": row.id, "by": ctx.actor.name[:64], "note": "提现"}
    )
    ctx.session.add(ledger)
    await ctx.session.flush()
    balance = pos.earnings.balance + line.amount
    row.status, row.decided_at, row.decided_by, row.ledger_line_id = (
        WithdrawalStatus.APPROVED,
        ctx.now,
        ctx.actor.name[:64],
        ledger.id,
    )
    audit.record(
        ctx,
        "money",
        "withdrawal.approve",
        subject=person.code,
        before={"status": WithdrawalStatus.REQUESTED, "balance": pos.earnings.balance},
        after={"status": row.status, "balance": balance, "paid_out": row.amount, "withdrawal": row.id},
    )
    if person.contact_id:
        queue_text(
            ctx,
            target=person.contact_id,
            account=person.helper_account,
            template="withdrawal_approved",
            data={"name": person.name, "amount": row.amount, "balance": balance},
        )
    return row


async def reject(ctx: Context, withdrawal_id: int, reason: str) -> Withdrawal:
    """Refuse the request, saying why (the person is told the reason)."""
    reason = reason.strip()
    if not reason:
        raise Invalid(["reason: say why; the distributor is told"])
    row, person = await _open(ctx, withdrawal_id)
    row.status, row.decided_at, row.decided_by, row.reason = (
        WithdrawalStatus.REJECTED,
        ctx.now,
        ctx.actor.name[:64],
        reason[:500],
    )
    audit.record(
        ctx,
        "money",
        "withdrawal.reject",
        subject=person.code,
        before={"status": WithdrawalStatus.REQUESTED},
        after={"status": row.status, "amount": row.amount, "withdrawal": row.id},
        note=row.reason,
    )
    if person.contact_id:
        queue_text(
            ctx,
            target=person.contact_id,
            account=person.helper_account,
            template="withdrawal_rejected",
            data={"name": person.name, "amount": row.amount, "reason": row.reason},
        )
    return row


def _view(row: Withdrawal, person: Distributor, settings: Settings) -> dict[str, Any]:
    zone = local_zone(settings)
    return {
        "id": row.id,
        "distributor": {"code": person.code, "name": person.name},
        "amount": row.amount,
        "status": row.status,
        "requested_at": row.requested_at.astimezone(zone),
        "decided_at": row.decided_at.astimezone(zone) if row.decided_at else None,
        "decided_by": row.decided_by,
        "reason": row.reason,
        "ledger_line": row.ledger_line_id,
    }


def _period(settings: Settings, since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    zone = local_zone(settings)
    start = datetime.combine(since, time(0), zone) if since else None
    end = datetime.combine(until + timedelta(days=1), time(0), zone) if until else None
    return start, end


async def listed(
    session: AsyncSession,
    settings: Settings,
    status: WithdrawalStatus,
    since: date | None = None,
    until: date | None = None,
) -> list[dict[str, Any]]:
    """Withdrawals of one status: open ones oldest first, decided ones newest first (decided
    within the period of platform days, when given), at most 500."""
    query = select(Withdrawal, Distributor).join(Distributor, Distributor.id == Withdrawal.distributor_id)
    query = query.where(Withdrawal.status == status)
    start, end = _period(settings, since, until)
    if status == WithdrawalStatus.REQUESTED:
        query = query.order_by(Withdrawal.requested_at, Withdrawal.id)
    else:
        if start is not None:
            query = query.where(Withdrawal.decided_at >= start)
        if end is not None:
            query = query.where(Withdrawal.decided_at < end)
        query = query.order_by(Withdrawal.decided_at.desc(), Withdrawal.id.desc())
    rows = (await session.execute(query.limit(500))).all()
    return [_view(row, person, settings) for row, person in rows]


EXPORT_HEADER: Sequence[str] = ("withdrawal_id", "approved_at", "code", "name", "amount", "approved_by", "ledger_line")


async def approved_csv(session: AsyncSession, settings: Settings, since: date, until: date) -> str:
    """Approved withdrawals decided in the period (platform days, inclusive) as CSV for finance:
    oldest first, times in the platform's zone, amounts as yuan with two decimals, a total line."""
    start, end = _period(settings, since, until)
    query = (
        select(Withdrawal, Distributor)
        .join(Distributor, Distributor.id == Withdrawal.distributor_id)
        .where(Withdrawal.status == WithdrawalStatus.APPROVED)
        .where(Withdrawal.decided_at >= start, Withdrawal.decided_at < end)
        .order_by(Withdrawal.decided_at, Withdrawal.id)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_HEADER)
    total = Decimal("0.00")
    zone = local_zone(settings)
    for row, person in (await session.execute(query)).all():
        assert row.decided_at is not None
        writer.writerow(
            [
                row.id,
                row.decided_at.astimezone(zone).isoformat(timespec="seconds"),
                person.code,
                person.name,
                f"{row.amount:.2f}",
                row.decided_by or "",
                row.ledger_line_id or "",
            ]
        )
        total += row.amount
    writer.writerow(["total", "", "", "", f"{total:.2f}", "", ""])
    return out.getvalue()

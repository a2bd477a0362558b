"""Recording money the platform paid out to a distributor (ops, through the API).

The core decides whether the payout fits the balance; the distributor's row is locked for
the transaction so two payouts at once cannot both spend the same balance."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from bot.base.context import Context
from core.ledger import PayoutRefused, payout_line, summarize
from models.orders import LedgerLine
from models.people import Distributor
from services import audit
from services.errors import NotFound, Refused
from services.reports import core_line


async def record_payout(ctx: Context, code: str, amount: Decimal, note: str, by: str) -> Decimal:
    """Book the payout and return the new balance. Raises NotFound when no distributor has
    ``code``, Refused when the amount does not fit (:func:`core.ledger.payout_line` says why)."""
    person = await ctx.session.scalar(
        select(Distributor).where(Distributor.code == code.strip().upper()).with_for_update()
    )
    if person is None:
        raise NotFound(f"no distributor has the code {code!r}")
    rows = await ctx.session.scalars(select(LedgerLine).where(LedgerLine.distributor_id == person.id))
    earnings = summarize([core_line(row) for row in rows], ctx.now)
    try:
        line = payout_line(str(person.id), amount, earnings, ctx.now)
    except PayoutRefused as refusal:
        raise Refused(str(refusal)) from None
    ctx.session.add(LedgerLine.from_core(line, order_id=None, detail={"note": note[:200], "by": by[:64]}))
    after = earnings.balance + line.amount
    audit.record(
        ctx,
        "money",
        "payout",
        subject=person.code,
        before={"balance": earnings.balance},
        after={"balance": after, "paid_out": amount},
        note=note,
    )
    return after

"""The commission ledger's rules: pending → settled, refunds, and the totals a distributor sees.

The ledger is append-only. Each commission starts as an ``earned`` line and is *pending*
until the refund window (default 7 days) has passed; the settlement pass then writes a
``settled`` line and the money is the distributor's.

Refunds claw back pro rata to the amount refunded, cumulatively: after refunds totalling R of
a paid amount P, fen(commission × R / P) has been clawed back in all. Inside the window the
claw-back is a ``cancelled`` line; after settlement it is an ``adjusted`` (negative) line that
stays on the balance even when the balance goes below zero — it is never silently forgiven.

Example: a 144.00 commission on a 399.00 order; 133.00 refunded on day 3 → cancelled −48.00;
the rest (266.00) refunded on day 10, after settlement of 96.00 → adjusted −96.00; settled 0.00.
Had the platform already paid the 96.00 out (a ``paid_out`` line), the balance is now −96.00
and stays so until later commissions cover it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, Generic, TypeVar

from core.commission import Kind
from core.money import ZERO, to_decimal, to_fen

DEFAULT_REFUND_WINDOW_DAYS = 7
# What names a commission: the earned line's row id in the database, a (plan, booking, split)
# reference in a what-if replay. A ledger line carries its commission's id (None: a payout).
Id = TypeVar("Id", bound=Hashable, covariant=True)


class Entry(StrEnum):
    EARNED = "earned"
    CANCELLED = "cancelled"
    SETTLED = "settled"
    ADJUSTED = "adjusted"
    PAID_OUT = "paid_out"  # money the platform transferred to the distributor


class Reason(StrEnum):
    SALE = "sale"
    WINDOW_PASSED = "refund_window_passed"
    REFUND_IN_WINDOW = "refund_within_window"
    REFUND_AFTER_SETTLEMENT = "refund_after_settlement"
    PAYOUT = "payout"


@dataclass(frozen=True)
class Commission(Generic[Id]):
    """One earned commission as the ledger stands: what was earned, when, whether it is
    settled, and how much has been clawed back so far (a positive amount)."""

    id: Id
    payee: str
    kind: Kind
    amount: Decimal
    earned_at: datetime
    settled_at: datetime | None = None
    clawed_back: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.amount - self.clawed_back

    def settles_at(self, window_days: int) -> datetime:
        return self.earned_at + timedelta(days=window_days)


@dataclass(frozen=True)
class LedgerLine(Generic[Id]):
    """A line to append. ``amount`` is signed for earned/cancelled/adjusted; a settled line
    carries the (positive) amount that became settled and does not change the total."""

    commission_id: Id  # None for a payout, and for an earned line not yet written
    payee: str
    kind: Kind | None  # None for a payout
    entry: Entry
    amount: Decimal
    reason: Reason
    at: datetime


def settle_due(
    commissions: Iterable[Commission[Id]], now: datetime, window_days: int = DEFAULT_REFUND_WINDOW_DAYS
) -> list[LedgerLine[Id]]:
    """Settlement lines for every pending commission whose refund window has passed."""
    return [
        LedgerLine(c.id, c.payee, c.kind, Entry.SETTLED, c.net, Reason.WINDOW_PASSED, now)
        for c in commissions
        if c.settled_at is None and c.net > 0 and now >= c.settles_at(window_days)
    ]


def claw_back(
    commissions: Iterable[Commission[Id]],
    *,
    paid: Decimal,
    refunded_before: Decimal,
    refunded_now: Decimal,
    now: datetime,
    window_days: int = DEFAULT_REFUND_WINDOW_DAYS,
) -> list[LedgerLine[Id]]:
    """Lines reversing the order's commissions for a refund of ``refunded_now`` (after
    ``refunded_before`` earlier refunds) of an order that paid ``paid``."""
    paid, before, now_amount = (to_decimal(x) for x in (paid, refunded_before, refunded_now))
    if paid <= 0:
        raise ValueError("nothing was paid on this order")
    if now_amount <= 0:
        raise ValueError("a refund must be a positive amount")
    if before + now_amount > paid:
        raise ValueError(f"refunds ({before + now_amount}) would exceed what was paid ({paid})")
    refunded_share = Fraction(before + now_amount) / Fraction(paid)
    lines: list[LedgerLine[Id]] = []
    for c in commissions:
        owed_back = to_fen(Fraction(c.amount) * refunded_share) - c.clawed_back
        if owed_back <= 0:
            continue
        if c.settled_at is None and now < c.settles_at(window_days):
            lines.append(LedgerLine(c.id, c.payee, c.kind, Entry.CANCELLED, -owed_back, Reason.REFUND_IN_WINDOW, now))
            continue
        if c.settled_at is None:
            lines.append(LedgerLine(c.id, c.payee, c.kind, Entry.SETTLED, c.net, Reason.WINDOW_PASSED, now))
        lines.append(LedgerLine(c.id, c.payee, c.kind, Entry.ADJUSTED, -owed_back, Reason.REFUND_AFTER_SETTLEMENT, now))
    return lines


@dataclass(frozen=True)
class Earnings:
    """What a distributor sees: pending (still refundable), settled (theirs; may be negative
    after late refunds), cancelled (clawed back before settlement), by kind, and this month."""

    pending: Decimal = ZERO
    settled: Decimal = ZERO
    cancelled: Decimal = ZERO
    by_kind: dict[Kind, Decimal] = field(default_factory=dict)
    this_month: Decimal = ZERO
    paid_out: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.pending + self.settled

    @property
    def balance(self) -> Decimal:
        """Settled money not yet paid out; below zero after a refund of money already paid."""
        return self.settled - self.paid_out


def summarize(lines: Sequence[LedgerLine[Any]], now: datetime) -> Earnings:
    """Totals over one distributor's ledger lines. ``now`` (timezone-aware, in the platform's
    timezone) decides which month "this month" is."""
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    earned: dict[object, Decimal] = defaultdict(lambda: ZERO)
    cancelled: dict[object, Decimal] = defaultdict(lambda: ZERO)
    adjusted: dict[object, Decimal] = defaultdict(lambda: ZERO)
    settled_ids: set[object] = set()
    by_kind: dict[Kind, Decimal] = defaultdict(lambda: ZERO)
    this_month = ZERO
    paid_out = ZERO
    for line in lines:
        key = line.commission_id
        if line.entry == Entry.PAID_OUT:
            paid_out -= line.amount
            continue
        if line.entry == Entry.SETTLED:
            settled_ids.add(key)
            continue
        {Entry.EARNED: earned, Entry.CANCELLED: cancelled, Entry.ADJUSTED: adjusted}[line.entry][key] += line.amount
        if line.kind is not None:  # only a payout has none, and payouts are counted above
            by_kind[line.kind] += line.amount
        if line.at >= month_start:
            this_month += line.amount
    pending = settled = ZERO
    for key in set(earned) | set(cancelled) | set(adjusted):
        net = earned[key] + cancelled[key] + adjusted[key]
        if key in settled_ids:
            settled += net
        else:
            pending += net
    return Earnings(
        pending=pending,
        settled=settled,
        cancelled=-sum(cancelled.values(), ZERO),
        by_kind={kind: by_kind[kind] for kind in Kind if kind in by_kind},
        this_month=this_month,
        paid_out=paid_out,
    )


class PayoutRefused(ValueError):
    pass


def payout_line(payee: str, amount: Decimal, earnings: Earnings, now: datetime) -> LedgerLine[None]:
    """The ledger line recording that ``amount`` was paid to ``payee``. Refused unless the
    amount is positive, whole fen, and at most the balance (settled money not yet paid)."""
    amount = to_decimal(amount)
    if amount <= 0 or amount != to_fen(amount):
        raise PayoutRefused(f"a payout must be a positive amount in whole fen, not {amount}")
    if amount > earnings.balance:
        raise PayoutRefused(f"{amount} is more than the balance of {earnings.balance}")
    return LedgerLine(None, payee, None, Entry.PAID_OUT, -amount, Reason.PAYOUT, now)

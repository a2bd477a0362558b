"""The money side of a what-if replay (:mod:`core.whatif`): every plan's books side by side.

A booking is one sale (or CPA qualification) with its seller and recruiter at their levels of
the moment; each plan splits it with :func:`core.commission.split_sale`. The split depends on
nothing but pool, margin and the two levels, so it is computed once per such combination and
plan and reused. A refund claws every plan's commissions back pro rata through
:func:`core.ledger.claw_back`, and the order's pool and margin shrink by the same share, so for
every plan and at every moment: pool + margin (net) = paid to distributors + platform kept.

Example (sales preset): pool 180.00, margin 60.00, a C sells and a B recruited her → C 144.00
(seller), B 7.20 (management), pool kept 28.80, margin kept 60.00; 133.00 of 399.00 refunded
→ C −48.00, B −2.40, pool −60.00 (so pool kept −9.60), margin −20.00.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from core.commission import Kind, Party, split_sale
from core.ledger import DEFAULT_REFUND_WINDOW_DAYS, Commission, Entry, claw_back
from core.money import ZERO, to_fen
from core.plan import CommissionPlan

SELLER, RECRUITER = 0, 1  # roles in a cached split
Key = tuple[Decimal, Decimal, str, str | None]  # pool, margin, seller's level, recruiter's level
Split = tuple[tuple[tuple[int, Kind, Decimal], ...], Decimal, Decimal]  # (role, kind, amount)…, kept pool, kept margin
Ref = tuple[int, int, int]  # a commission in a replay: (plan, booking of the order, payout of the split)
Booking = tuple[str, str | None, Key, datetime]  # seller, recruiter, key, when
FenSplit = tuple[tuple[tuple[int, Kind, int, str], ...], int, int]  # (role, kind, fen, level)…, kept pool, kept margin


@dataclass(frozen=True)
class PlanOutcome:
    """What one plan would have paid: net of claw-backs, by payee, by the payee's level when
    the commission was earned, and by kind; and what the platform kept of pool and margin."""

    plan: CommissionPlan
    earnings: dict[str, Decimal]  # members who had any commission
    by_level: dict[str, Decimal]
    by_kind: dict[Kind, Decimal]
    pool_kept: Decimal
    margin_kept: Decimal

    @property
    def paid(self) -> Decimal:
        return sum(self.by_kind.values(), ZERO)

    @property
    def platform(self) -> Decimal:
        return self.pool_kept + self.margin_kept


class OrderMoney:
    """What an order made payable and what was booked on it, for its refunds: kept for every
    order of a replay, so it is small — what only a refund needs (``back``) is made at the first
    refund. A port may keep the bookings more compactly by overriding :meth:`add_booking` and
    :meth:`bookings` (:mod:`core.order_memory` keeps the sale's own booking in two slots)."""

    __slots__ = ("back", "margin", "more", "pool")

    def __init__(self) -> None:
        self.pool = self.margin = ZERO
        self.more: list[Booking] | None = None
        self.back: Returned | None = None

    def add_booking(self, seller: str, recruiter: str | None, key: Key, at: datetime) -> None:
        if self.more is None:
            self.more = []
        self.more.append((seller, recruiter, key, at))

    def bookings(self) -> Sequence[Booking]:
        """In the order they were booked."""
        return self.more or ()


class Returned:
    """What the refunds of an order took back so far: of its pool and margin, and of each
    commission booked on it."""

    __slots__ = ("clawed", "margin", "pool")

    def __init__(self) -> None:
        self.pool = self.margin = ZERO
        self.clawed: dict[Ref, Decimal] = {}  # (plan, booking, payout) → clawed back


class _Books:
    """One plan's running totals, in fen (ints: a replay adds millions of them; Decimal only
    at the boundary, :meth:`Books.outcomes`): earnings by payee, and what claw-backs took by
    level, by kind and from what the platform kept — the splits' own shares of those are
    counted per split (``Books.booked``) and multiplied out at the end."""

    __slots__ = ("by_kind", "by_level", "earnings", "margin_kept", "pool_kept")

    def __init__(self) -> None:
        self.earnings: defaultdict[str, int] = defaultdict(int)
        self.by_level: defaultdict[str, int] = defaultdict(int)
        self.by_kind: defaultdict[Kind, int] = defaultdict(int)
        self.pool_kept = self.margin_kept = 0


def fen_of(amount: Decimal) -> int:
    """An amount in whole fen as an int: 144.00 → 14400; one with a part of a fen is refused."""
    fen = amount.scaleb(2)
    whole = int(fen)
    if whole != fen:
        raise ValueError(f"{amount} is not a whole number of fen")
    return whole


def yuan(fen: int) -> Decimal:
    """Back at the boundary: 14400 → Decimal('144.00')."""
    return Decimal(fen).scaleb(-2)


class Books:
    """Every plan's running totals, and the pool and margin of the orders booked."""

    def __init__(self, plans: Sequence[CommissionPlan], refund_window_days: int = DEFAULT_REFUND_WINDOW_DAYS):
        if not plans:
            raise ValueError("give at least one plan")
        self.plans = tuple(plans)
        self.window_days = refund_window_days
        self.books = [_Books() for _ in self.plans]
        self.splits: dict[Key, tuple[Split, ...]] = {}
        self.in_fen: dict[Key, tuple[FenSplit, ...]] = {}  # the same splits, in fen, with each payee's level
        self.fen: dict[Decimal, int] = {}  # pool and margin amounts in fen (a million orders share a few)
        self.shared: dict[object, object] = {}  # one object per equal amount or key: a million orders share a few
        self.pool_fen = self.margin_fen = 0
        self.booked: defaultdict[Key, int] = defaultdict(int)  # bookings per split
        self.unsold_pool = self.unsold_margin = 0  # booked with nobody to pay: every plan keeps it

    @property
    def pool(self) -> Decimal:
        return yuan(self.pool_fen)

    @property
    def margin(self) -> Decimal:
        return yuan(self.margin_fen)

    def _fen(self, amount: Decimal) -> int:
        fen = self.fen.get(amount)
        if fen is None:
            fen = self.fen[amount] = fen_of(amount)
        return fen

    def book(
        self,
        order: OrderMoney,
        seller: tuple[str, str] | None,
        recruiter: tuple[str, str] | None,
        pool: Decimal,
        margin: Decimal,
        at: datetime,
    ) -> None:
        """Book ``pool`` and ``margin`` on ``order``: split between ``seller`` and ``recruiter``
        (each ``(id, level)``, or None), or all kept by the platform when nobody sold."""
        pool, margin = self._shared(pool), self._shared(margin)
        pool_fen, margin_fen = self._fen(pool), self._fen(margin)
        self.pool_fen += pool_fen
        self.margin_fen += margin_fen
        order.pool = order.pool + pool if order.pool else pool
        order.margin = order.margin + margin if order.margin else margin
        if seller is None or (pool_fen == 0 and margin_fen == 0):
            self.unsold_pool += pool_fen  # every plan keeps it: added to each at the end
            self.unsold_margin += margin_fen
            return
        key: Key = self._shared((pool, margin, seller[1], recruiter[1] if recruiter else None))
        splits = self.in_fen.get(key)
        if splits is None:
            self._split(key)
            splits = self.in_fen[key]
        order.add_booking(seller[0], recruiter[0] if recruiter else None, key, at)
        # What depends on the split alone (by level, by kind, kept) is counted per split and
        # multiplied out at the end; only the payees' earnings are added here.
        self.booked[key] += 1
        payees = (seller[0], recruiter[0] if recruiter else "")
        for books, (payouts, _, _) in zip(self.books, splits, strict=True):
            earnings = books.earnings
            for role, _, amount, _ in payouts:
                earnings[payees[role]] += amount

    def _shared(self, value: Any) -> Any:
        return self.shared.setdefault(value, value)

    def _split(self, key: Key) -> tuple[Split, ...]:
        pool, margin, seller_level, recruiter_level = key
        seller = Party("seller", seller_level)
        recruiter = Party("recruiter", recruiter_level) if recruiter_level else None
        result = []
        for plan in self.plans:
            split = split_sale(plan, pool, seller, recruiter, margin=margin)
            payouts = tuple((SELLER if p.payee == "seller" else RECRUITER, p.kind, p.amount) for p in split.payouts)
            result.append((payouts, split.platform, split.platform_margin))
        self.splits[key] = tuple(result)
        levels = (seller_level, recruiter_level or "")  # a role is paid only when it has a level
        self.in_fen[key] = tuple(
            (
                tuple((role, kind, fen_of(amount), levels[role]) for role, kind, amount in payouts),
                fen_of(pool_kept),
                fen_of(margin_kept),
            )
            for payouts, pool_kept, margin_kept in result
        )
        return self.splits[key]

    def claw_back(self, order: OrderMoney, paid: Decimal, before: Decimal, now: Decimal, at: datetime) -> None:
        """A refund of ``now`` after ``before`` of ``paid``: every plan's commissions on the
        order come back pro rata; the order's pool and margin shrink by the same share."""
        share = Fraction(before + now) / Fraction(paid)
        returned = order.back = order.back if order.back is not None else Returned()
        pool_back = to_fen(Fraction(order.pool) * share) - returned.pool
        margin_back = to_fen(Fraction(order.margin) * share) - returned.margin
        returned.pool += pool_back
        returned.margin += margin_back
        clawed = returned.clawed
        bookings = order.bookings()
        self.pool_fen -= fen_of(pool_back)
        self.margin_fen -= fen_of(margin_back)
        for index, books in enumerate(self.books):
            commissions: list[Commission[Ref]] = []
            levels: dict[Ref, str] = {}
            for b, (seller, recruiter, key, earned_at) in enumerate(bookings):
                for i, (role, kind, amount) in enumerate(self.splits[key][index][0]):
                    ref = (index, b, i)
                    # key[2] is the seller's level, key[3] the recruiter's: a level whenever the
                    # split pays that role (indexed, not unpacked: this runs per commission).
                    levels[ref] = key[2 + role]  # type: ignore[assignment]
                    payee = str(recruiter if role == RECRUITER else seller)
                    back = clawed.get(ref, ZERO)
                    commissions.append(Commission(ref, payee, kind, amount, earned_at, clawed_back=back))
            from_pool = from_margin = ZERO
            lines = claw_back(
                commissions, paid=paid, refunded_before=before, refunded_now=now, now=at, window_days=self.window_days
            )
            for line in lines:
                if line.entry is Entry.SETTLED or line.kind is None:
                    continue  # settling first changes no total
                fen = fen_of(line.amount)
                books.earnings[line.payee] += fen
                books.by_level[levels[line.commission_id]] += fen
                books.by_kind[line.kind] += fen
                clawed[line.commission_id] = clawed.get(line.commission_id, ZERO) - line.amount
                if line.kind is Kind.PARTNER:
                    from_margin -= line.amount
                else:
                    from_pool -= line.amount
            books.pool_kept += fen_of(from_pool - pool_back)
            books.margin_kept += fen_of(from_margin - margin_back)

    def outcomes(self) -> tuple[PlanOutcome, ...]:
        found = []
        for index, (plan, books) in enumerate(zip(self.plans, self.books, strict=True)):
            by_level, by_kind = defaultdict(int, books.by_level), defaultdict(int, books.by_kind)
            pool_kept, margin_kept = books.pool_kept + self.unsold_pool, books.margin_kept + self.unsold_margin
            for key, times in self.booked.items():
                payouts, split_pool, split_margin = self.in_fen[key][index]
                for _, kind, amount, level in payouts:
                    by_level[level] += amount * times
                    by_kind[kind] += amount * times
                pool_kept += split_pool * times
                margin_kept += split_margin * times
            found.append(
                PlanOutcome(
                    plan=plan,
                    earnings={person: yuan(fen) for person, fen in books.earnings.items()},
                    by_level={level: yuan(by_level.get(level, 0)) for level in plan.levels},
                    by_kind={kind: yuan(by_kind.get(kind, 0)) for kind in Kind},
                    pool_kept=yuan(pool_kept),
                    margin_kept=yuan(margin_kept),
                )
            )
        return tuple(found)

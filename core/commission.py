"""Splitting one sale's pool between the seller, the seller's direct recruiter and the platform.

Rule: the seller gets ``seller[L]`` of the pool; the seller's direct recruiter gets the
management share (recruiter higher), the invite share (same level) or nothing (lower); the
platform keeps the rest. Nobody above the direct recruiter is ever paid.

Rounding: the seller's amount is rounded to the fen, and the recruiter gets
``fen(pool × (seller share + recruiter share)) − seller amount``. So payouts never exceed
the pool, and payouts + platform = pool to the fen, exactly.

Worked example (sales preset, pool 180.00, C sold, recruiter B): C 144.00 (80%),
B fen(180 × 84%) − 144.00 = 7.20, platform 28.80.

Partner share (平台分成): a top-level partner who is the seller or the seller's recruiter also
gets a configured share of the platform's own margin on that sale, booked as kind ``partner``,
rounded the same way. Those are still the same two people.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from core.money import ZERO, is_fen_exact, to_decimal, to_fen
from core.plan import CommissionPlan


class Kind(StrEnum):
    SELLER = "seller"
    MANAGEMENT = "management"
    INVITE = "invite"
    PARTNER = "partner"


@dataclass(frozen=True)
class Party:
    """A distributor as the split sees them: an id and a level code."""

    id: str
    level: str


@dataclass(frozen=True)
class Payout:
    payee: str
    kind: Kind
    amount: Decimal


@dataclass(frozen=True)
class Split:
    """Who gets what from one sale.

    ``platform`` is what the platform keeps of the pool; ``platform_margin`` what it keeps of
    its own margin after partner shares. ``sum(pool payouts) + platform == pool`` and
    ``sum(partner payouts) + platform_margin == margin``, to the fen.
    """

    pool: Decimal
    margin: Decimal
    payouts: tuple[Payout, ...]
    platform: Decimal
    platform_margin: Decimal

    @property
    def payees(self) -> frozenset[str]:
        return frozenset(p.payee for p in self.payouts)

    def amount_for(self, payee: str, kind: Kind | None = None) -> Decimal:
        return sum(
            (p.amount for p in self.payouts if p.payee == payee and (kind is None or p.kind == kind)),
            ZERO,
        )


def split_sale(
    plan: CommissionPlan,
    pool: Decimal,
    seller: Party | None,
    recruiter: Party | None = None,
    margin: Decimal = ZERO,
) -> Split:
    """Split ``pool`` (the 分销体系佣金 of this sale, already × quantity) between the seller and
    the seller's direct recruiter. ``seller=None`` is a sale no distributor made: the platform
    keeps everything. ``recruiter`` is the seller's direct recruiter, if any."""
    pool, margin = _fen_amount(pool, "pool"), _fen_amount(margin, "margin")
    if seller is None:
        return Split(pool, margin, (), pool, margin)
    if recruiter is not None and recruiter.id == seller.id:
        raise ValueError("a distributor cannot be their own recruiter")
    for party in (seller, recruiter):
        if party is not None and party.level not in plan.levels:
            raise ValueError(f"unknown level {party.level!r}")

    seller_share = plan.seller[seller.level]
    recruiter_kind, recruiter_share = ("none", Fraction(0))
    if recruiter is not None:
        recruiter_kind, recruiter_share = plan.recruiter_share(recruiter.level, seller.level)

    payouts: list[Payout] = []
    seller_amount, recruiter_amount = _two_way(pool, seller_share, recruiter_share)
    if seller_amount:
        payouts.append(Payout(seller.id, Kind.SELLER, seller_amount))
    if recruiter is not None and recruiter_amount:
        payouts.append(Payout(recruiter.id, Kind(recruiter_kind), recruiter_amount))

    partner_seller = plan.partner_as_seller if seller.level in plan.partner_levels else Fraction(0)
    partner_recruiter = (
        plan.partner_as_recruiter if recruiter is not None and recruiter.level in plan.partner_levels else Fraction(0)
    )
    partner_seller_amount, partner_recruiter_amount = _two_way(margin, partner_seller, partner_recruiter)
    if partner_seller_amount:
        payouts.append(Payout(seller.id, Kind.PARTNER, partner_seller_amount))
    if recruiter is not None and partner_recruiter_amount:
        payouts.append(Payout(recruiter.id, Kind.PARTNER, partner_recruiter_amount))

    kept = pool - seller_amount - recruiter_amount
    kept_margin = margin - partner_seller_amount - partner_recruiter_amount
    return Split(pool, margin, tuple(payouts), kept, kept_margin)


def _two_way(amount: Decimal, first: Fraction, second: Fraction) -> tuple[Decimal, Decimal]:
    """(fen(amount × first), fen(amount × (first + second)) − that): never more than amount."""
    if first + second > 1:
        raise ValueError("shares add up to more than the whole amount")
    exact = Fraction(amount)
    first_amount = to_fen(exact * first)
    both = to_fen(exact * (first + second))
    return first_amount, both - first_amount


def _fen_amount(value: Decimal, what: str) -> Decimal:
    value = to_decimal(value)
    if value < 0:
        raise ValueError(f"{what} cannot be negative: {value}")
    if not is_fen_exact(value):
        raise ValueError(f"{what} must be whole fen: {value}")
    return to_fen(value)

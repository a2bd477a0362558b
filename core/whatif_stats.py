"""How a plan's money is spread over the distributors: exact shares, Gini, Lorenz curve, the
people left with nothing, and who gains or loses most between two plans.

Everything is exact: amounts are ``Decimal`` yuan, shares and the Gini coefficient
``Fraction``s; only :func:`as_decimal` rounds, for display.

- top p share: what the ⌈n × p⌉ best-paid distributors (at least one) earned, over the total;
- Gini: Σᵢ Σⱼ |xᵢ − xⱼ| / (2 n² x̄), computed on the sorted earnings x₍₁₎ ≤ … ≤ x₍ₙ₎ as
  2 Σ i·x₍ᵢ₎ / (n Σ x) − (n + 1) / n; 0 when nobody earned anything;
- Lorenz curve: (k/n, share of the total earned by the k lowest-paid), k = 0 … n.

Example: earnings 0, 0, 100, 300 (n = 4, total 400): top 10% (⌈0.4⌉ = 1 person) = 300/400 =
75%; Gini = 2 × (1·0 + 2·0 + 3·100 + 4·300) / (4 × 400) − 5/4 = 3000/1600 − 5/4 = 5/8 = 0.625;
Lorenz (0, 0), (1/4, 0), (1/2, 0), (3/4, 1/4), (1, 1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from core.money import ZERO


@dataclass(frozen=True)
class Concentration:
    people: int
    total: Decimal
    top_1: Fraction  # share of the best-paid 1%
    top_10: Fraction
    gini: Fraction
    lorenz: tuple[tuple[Fraction, Fraction], ...]  # sampled points of the curve, (0, 0) to (1, 1)
    nothing: int  # earned nothing (0.00 or less)
    below: int  # earned less than the threshold, those with nothing included
    threshold: Decimal


@dataclass(frozen=True)
class Change:
    person: str
    before: Decimal  # under the first plan
    after: Decimal

    @property
    def delta(self) -> Decimal:
        return self.after - self.before


def top_share(ascending: list[int], share: Fraction) -> Fraction:
    """What the best-paid ⌈n × share⌉ (at least one) earned, over the total (fen, sorted)."""
    total = sum(ascending)
    if not ascending or total == 0:
        return Fraction(0)
    count = max(1, math.ceil(len(ascending) * share))
    return Fraction(sum(ascending[-count:]), total)


def gini(ascending: list[int]) -> Fraction:
    """The Gini coefficient of non-negative amounts sorted ascending (any unit)."""
    n, total = len(ascending), sum(ascending)
    if n == 0 or total == 0:
        return Fraction(0)
    weighted = sum(i * x for i, x in enumerate(ascending, start=1))
    return Fraction(2 * weighted, n * total) - Fraction(n + 1, n)


def lorenz(ascending: list[int], points: int = 100) -> tuple[tuple[Fraction, Fraction], ...]:
    """The Lorenz curve at about ``points`` + 1 evenly spread k (always k = 0 and k = n)."""
    n, total = len(ascending), sum(ascending)
    if n == 0:
        return ((Fraction(0), Fraction(0)), (Fraction(1), Fraction(1)))
    ks = sorted({(n * j + points // 2) // points for j in range(points + 1)} | {0, n}) if n > points else range(n + 1)
    curve, running, done = [], 0, 0
    for k in ks:
        running += sum(ascending[done:k])
        done = k
        curve.append((Fraction(k, n), Fraction(running, total) if total else Fraction(k, n)))
    return tuple(curve)


def concentration(
    earnings: Mapping[str, Decimal], population: Iterable[str], threshold: Decimal, points: int = 100
) -> Concentration:
    """Spread of ``earnings`` over ``population`` (everyone in it, zero earners included)."""
    fen = sorted(int(earnings.get(person, ZERO) * 100) for person in population)
    total = (Decimal(sum(fen)) / 100).quantize(Decimal("0.01"))
    limit = int(threshold * 100)
    return Concentration(
        people=len(fen),
        total=total,
        top_1=top_share(fen, Fraction(1, 100)),
        top_10=top_share(fen, Fraction(1, 10)),
        gini=gini([max(0, x) for x in fen]),
        lorenz=lorenz([max(0, x) for x in fen], points),
        nothing=sum(1 for x in fen if x <= 0),
        below=sum(1 for x in fen if x < limit),
        threshold=threshold,
    )


def biggest_changes(
    before: Mapping[str, Decimal], after: Mapping[str, Decimal], population: Iterable[str], limit: int = 10
) -> list[Change]:
    """The ``limit`` people whose earnings change most (by size, either way; ties by id)."""
    changes = [Change(p, before.get(p, ZERO), after.get(p, ZERO)) for p in population]
    changes = [c for c in changes if c.delta]
    changes.sort(key=lambda c: (-abs(c.delta), c.person))
    return changes[:limit]


def as_decimal(value: Fraction, places: int = 3) -> Decimal:
    """A share or coefficient rounded half-up for display: 5/8 → 0.625, 2/3 → 0.667."""
    scaled = abs(value) * 10**places
    units = (scaled.numerator * 2 + scaled.denominator) // (scaled.denominator * 2)  # half-up, exactly
    return Decimal(-units if value < 0 else units).scaleb(-places)

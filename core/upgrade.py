"""Upgrade conditions and how far a distributor is from the next level.

Each step (e.g. C→B) has alternative condition sets, ORed; inside a set every threshold must be
met (AND). Example: C→B needs "promoted_sales ≥ 10000 and customers ≥ 20" or "team_vips ≥ 30
and direct_vips ≥ 15". A C with 6500 yuan promoted and 20 customers is at 65% / 100% of the
first set (missing 3500 yuan) — the closest set.

Metrics (computed by the caller):
- ``promoted_sales``: yuan of sales the distributor made, net of refunds;
- ``customers``: distinct buyers they sold to;
- ``self_purchase``: yuan they bought for themselves;
- ``direct_invites``: distributors they recruited;
- ``team_size``: distributors two levels deep (their recruits and their recruits' recruits);
- ``direct_vips`` / ``team_vips``: the same, counting only those at or above the VIP level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from core.money import ZERO


class Metric(StrEnum):
    PROMOTED_SALES = "promoted_sales"
    CUSTOMERS = "customers"
    SELF_PURCHASE = "self_purchase"
    DIRECT_INVITES = "direct_invites"
    TEAM_SIZE = "team_size"
    DIRECT_VIPS = "direct_vips"
    TEAM_VIPS = "team_vips"


MONEY_METRICS = frozenset({Metric.PROMOTED_SALES, Metric.SELF_PURCHASE})
# Counting people below the direct recruits: the legal advisor warns about these.
INDIRECT_METRICS = frozenset({Metric.TEAM_SIZE, Metric.TEAM_VIPS})
# Metrics that only count heads recruited.
HEADCOUNT_METRICS = frozenset({Metric.DIRECT_INVITES, Metric.TEAM_SIZE, Metric.DIRECT_VIPS, Metric.TEAM_VIPS})


@dataclass(frozen=True)
class UpgradeStep:
    from_level: str
    to_level: str
    any_of: tuple[Mapping[Metric, Decimal], ...]


@dataclass(frozen=True)
class ConditionProgress:
    metric: Metric
    current: Decimal
    target: Decimal
    percent: int  # 0–100, rounded down
    missing: Decimal  # 0 when met

    @property
    def met(self) -> bool:
        return self.missing == 0


@dataclass(frozen=True)
class SetProgress:
    conditions: tuple[ConditionProgress, ...]

    @property
    def met(self) -> bool:
        return all(c.met for c in self.conditions)

    @property
    def completion(self) -> Decimal:
        """Mean of each condition's progress, capped at 1 per condition."""
        if not self.conditions:
            return Decimal(1)
        return sum((Decimal(min(c.percent, 100)) for c in self.conditions), ZERO) / (100 * len(self.conditions))


@dataclass(frozen=True)
class Progress:
    level: str
    next_level: str | None  # None at the top level
    sets: tuple[SetProgress, ...]
    closest: int | None  # index of the set nearest completion

    @property
    def eligible(self) -> bool:
        return any(s.met for s in self.sets)


def condition_progress(metric: Metric, current: Decimal, target: Decimal) -> ConditionProgress:
    current = Decimal(current)
    target = Decimal(target)
    if target <= 0:
        return ConditionProgress(metric, current, target, 100, ZERO)
    ratio = (current / target * 100).to_integral_value(rounding=ROUND_FLOOR)
    percent = int(max(Decimal(0), min(Decimal(100), ratio)))
    missing = max(ZERO if metric in MONEY_METRICS else Decimal(0), target - current)
    return ConditionProgress(metric, current, target, percent, missing)


def progress(level: str, metrics: Mapping[Metric, Decimal], steps: Sequence[UpgradeStep]) -> Progress:
    """How far ``level`` is from the next one, given the distributor's ``metrics``."""
    step = next((s for s in steps if s.from_level == level), None)
    if step is None:
        return Progress(level, None, (), None)
    sets = tuple(
        SetProgress(
            tuple(
                condition_progress(metric, metrics.get(metric, Decimal(0)), target)
                for metric, target in condition_set.items()
            )
        )
        for condition_set in step.any_of
    )
    closest = max(
        range(len(sets)),
        key=lambda i: (sets[i].met, sets[i].completion, -sum(not c.met for c in sets[i].conditions)),
        default=None,
    )
    return Progress(level, step.to_level, sets, closest)


def metrics_needed(level: str, steps: Sequence[UpgradeStep]) -> frozenset[Metric]:
    """Every metric the steps from ``level`` up to the top look at (empty at the top)."""
    by_level = {s.from_level: s for s in steps}
    needed: set[Metric] = set()
    seen = set()
    while level in by_level and level not in seen:
        seen.add(level)
        step = by_level[level]
        for condition_set in step.any_of:
            needed.update(condition_set)
        level = step.to_level
    return frozenset(needed)


def level_after(level: str, metrics: Mapping[Metric, Decimal], steps: Sequence[UpgradeStep]) -> str:
    """The level reached by climbing every step whose conditions are met (C→B→A in one go
    when the metrics already satisfy both)."""
    seen = {level}
    while True:
        current = progress(level, metrics, steps)
        if current.next_level is None or not current.eligible or current.next_level in seen:
            return level
        level = current.next_level
        seen.add(level)

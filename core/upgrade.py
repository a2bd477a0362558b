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

from collections.abc import Collection, Iterable, Mapping, Sequence
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
        for step in steps:  # a loop, not next(genexpr): this runs for every sale with a seller
            if step.from_level == level:
                break
        else:
            return level
        if step.to_level in seen or not meets(step, metrics):
            return level
        level = step.to_level
        seen.add(level)


def meets(step: UpgradeStep, metrics: Mapping[Metric, Decimal]) -> bool:
    """Whether some condition set of ``step`` has every threshold met — what
    :func:`progress` reports as ``eligible``, without working out how far each one is."""
    zero = Decimal(0)
    for condition_set in step.any_of:  # loops, not any(all(genexpr)): this runs for every sale with a seller
        for metric, target in condition_set.items():
            if target > 0 and metrics.get(metric, zero) < target:
                break
        else:
            return True
    return False


@dataclass(frozen=True)
class Climber:
    """One person on the way up from a seller: their level and upgrade metrics as they stood
    *before* anyone in this cascade climbed (:func:`climb` adjusts the VIP counts itself)."""

    id: str
    level: str
    metrics: Mapping[Metric, Decimal]


@dataclass(frozen=True)
class LevelUp:
    person: str
    from_level: str
    to_level: str


def climb(chain: Iterable[Climber], steps: Sequence[UpgradeStep], vip_levels: Collection[str]) -> list[LevelUp]:
    """The upgrade cascade after a paid sale: who climbs, in order.

    ``chain`` is the seller, then the seller's recruiter, then theirs, and so on; it is read
    lazily — the next person is only taken when the one before climbed, so a generator may
    compute metrics on demand. Each person climbs every step their metrics meet
    (:func:`level_after`); the first who stays where they are ends the cascade. When someone
    climbs into the VIP levels, the counts above them change with them: their recruiter's
    ``direct_vips`` and ``team_vips`` and their recruiter's recruiter's ``team_vips`` each go
    up by one (only where the caller gave that metric) — so the caller gives every metric as
    it was before the cascade and never has to re-read what this decides.

    Worked example (C→B needs promoted_sales ≥ 399 or direct_vips ≥ 1; B is a VIP level): Zhao
    (C) sells 399.00 and climbs to B; Li, Zhao's recruiter (C, direct_vips 0 before), now has
    one VIP recruit and climbs to B; Wang above Li is a B with no step met: the cascade stops.
    → [Zhao C→B, Li C→B].
    """
    vips = frozenset(vip_levels)
    ups: list[LevelUp] = []
    extra: dict[int, dict[Metric, int]] = {}  # position in the chain → VIP counts gained below
    seen: set[str] = set()
    for position, person in enumerate(chain):
        if person.id in seen:  # a recruiter loop in the data: nobody climbs twice
            break
        seen.add(person.id)
        metrics = dict(person.metrics)
        for metric, gained in extra.pop(position, {}).items():
            if metric in metrics:
                metrics[metric] += gained
        reached = level_after(person.level, metrics, steps)
        if reached == person.level:
            break
        ups.append(LevelUp(person.id, person.level, reached))
        if person.level not in vips and reached in vips:
            above = extra.setdefault(position + 1, {})
            above[Metric.DIRECT_VIPS] = above.get(Metric.DIRECT_VIPS, 0) + 1
            above[Metric.TEAM_VIPS] = above.get(Metric.TEAM_VIPS, 0) + 1
            two_above = extra.setdefault(position + 2, {})
            two_above[Metric.TEAM_VIPS] = two_above.get(Metric.TEAM_VIPS, 0) + 1
    return ups

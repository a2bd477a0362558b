"""Warnings about a configuration that loads but works against itself or leans on a pattern
China's 禁止传销条例 (art. 7) names. They never refuse the configuration.

- sales model + automatic entry on a purchase threshold: the seller's best customers become
  distributors, and their next orders are self-purchases — the seller drops from a seller
  commission to, at most, an invite or management share;
- a sales-model table paying a recruiter as much as or more than the seller;
- a purchase threshold as the only way in: an entry fee paid by buying goods (art. 7 (2));
- upgrades counting indirect recruits (team two levels deep) (art. 7 (1));
- an upgrade reachable by counting heads alone: pay by the number of people recruited (art. 7 (1)).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.entry import EntryRules, Path
from core.money import format_share
from core.plan import SALES, CommissionPlan
from core.problems import Problem
from core.upgrade import HEADCOUNT_METRICS, INDIRECT_METRICS, UpgradeStep


def advise(plan: CommissionPlan, entry: EntryRules, upgrades: Sequence[UpgradeStep]) -> list[Problem]:
    warnings: list[Problem] = []
    if plan.model == SALES and Path.PURCHASE in entry.paths:
        warnings.append(
            Problem(
                "entry.paths",
                "sales model with automatic entry on a purchase threshold: a customer who reaches"
                f" {entry.purchase_threshold} yuan becomes a distributor, their next orders are"
                " self-purchases, and the distributor who sold to them drops from a seller"
                " commission to an invite or management share at most",
            )
        )
    if plan.model == SALES:
        for (recruiter, seller), share in plan.management.items():
            if share and share >= plan.seller[seller]:
                warnings.append(
                    Problem(
                        f"commission.table.management.{recruiter}.{seller}",
                        f"a sales-model plan pays the recruiter ({format_share(share)}) at least"
                        f" as much as the seller {seller} ({format_share(plan.seller[seller])})",
                    )
                )
    if entry.paths == frozenset({Path.PURCHASE}):
        warnings.append(
            Problem(
                "entry.paths",
                "a purchase threshold is the only way in: this is an entry fee paid by buying"
                " goods, a pattern 禁止传销条例 art. 7 names; add code or reach entry",
            )
        )
    for i, step in enumerate(upgrades):
        for j, condition_set in enumerate(step.any_of):
            where = f"upgrades[{i}].any_of[{j}]"
            for metric in condition_set:
                if metric in INDIRECT_METRICS:
                    warnings.append(
                        Problem(
                            f"{where}.{metric}",
                            f"upgrade {step.from_level}→{step.to_level} counts indirect recruits"
                            f" ({metric}): 禁止传销条例 art. 7 names pay by people recruited"
                            " directly or indirectly",
                        )
                    )
            if condition_set and all(m in HEADCOUNT_METRICS for m in condition_set):
                warnings.append(
                    Problem(
                        where,
                        f"upgrade {step.from_level}→{step.to_level} can be reached by counting"
                        " heads alone: a reward per person recruited, a pattern 禁止传销条例"
                        " art. 7 names; add a sales condition",
                    )
                )
    return warnings

"""Commission plans: who may be paid what share of a sale's pool.

A plan is a table over the distributor levels (lowest first, e.g. C < B < A):

- ``seller[L]``: share of the pool to the seller at level L;
- ``management[(R, L)]``: share to the seller's direct recruiter at level R when R is *higher*
  than the seller's level L (管理佣金);
- ``invite[L]``: share to the direct recruiter when both are at level L (邀请佣金);
- nothing to a recruiter at a *lower* level, and nothing to anyone above the direct recruiter.

Two presets exist for three-level ladders; a platform may override any entry or give its own
table. Worked example, pool 180 yuan, a C sells, the C's recruiter is a B:

- team preset (seller C 5/9, management B over C 4/9): C 100.00, B 80.00, platform 0.00;
- sales preset (seller C 80%, management B over C 4%): C 144.00, B 7.20, platform 28.80.

A table is refused (:class:`ConfigProblems`) when it would pay a third level (e.g. a nested
``management: {A: {B: {C: 1%}}}`` or an ``indirect`` entry), or when, for some pair of levels,
seller share + recruiter share exceeds the whole pool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypedDict

from core.money import format_share, parse_share
from core.problems import ConfigProblems, Problem

TEAM = "team"
SALES = "sales"
CUSTOM = "custom"
MODELS = (TEAM, SALES, CUSTOM)

# Keys under which a table would pay someone beyond the seller's direct recruiter.
THIRD_LEVEL_KEYS = frozenset(
    {
        "indirect",
        "indirect_management",
        "grand_recruiter",
        "second_recruiter",
        "recruiter_of_recruiter",
        "upline",
        "upline2",
        "level3",
        "level_3",
        "third_level",
        "tier3",
        "override",
        "team_override",
    }
)


class Preset(TypedDict):
    """A plan's shares by position in a three-level ladder: 0 = lowest (C), 1 = middle (B), 2 = top (A)."""

    seller: dict[int, Fraction]
    management: dict[tuple[int, int], Fraction]  # (recruiter, seller)
    invite: dict[int, Fraction]


# Presets by position in a three-level ladder: 0 = lowest (C), 1 = middle (B), 2 = top (A).
# Team (团队型): most of a low-level sale goes up to the management layer; a C who recruits a C
# earns nothing from that recruit's sales.
_PRESET_TEAM: Preset = {
    "seller": {0: Fraction(5, 9), 1: Fraction(7, 9), 2: Fraction(1)},
    "management": {(1, 0): Fraction(4, 9), (2, 0): Fraction(4, 9), (2, 1): Fraction(2, 9)},
    "invite": {0: Fraction(0), 1: Fraction(1, 9), 2: Fraction(0)},
}
# Sales (销售型): most of the pool to whoever actually sells.
_PRESET_SALES: Preset = {
    "seller": {0: Fraction(80, 100), 1: Fraction(85, 100), 2: Fraction(90, 100)},
    "management": {(1, 0): Fraction(4, 100), (2, 0): Fraction(6, 100), (2, 1): Fraction(5, 100)},
    "invite": {0: Fraction(1, 100), 1: Fraction(2, 100), 2: Fraction(3, 100)},
}
PRESETS = {TEAM: _PRESET_TEAM, SALES: _PRESET_SALES}


@dataclass(frozen=True)
class CommissionPlan:
    """A validated plan. Missing management/invite entries mean "nothing"."""

    name: str
    model: str
    levels: tuple[str, ...]
    seller: Mapping[str, Fraction]
    management: Mapping[tuple[str, str], Fraction]
    invite: Mapping[str, Fraction]
    partner_levels: frozenset[str] = frozenset()
    partner_as_seller: Fraction = Fraction(0)
    partner_as_recruiter: Fraction = Fraction(0)

    def rank(self, level: str) -> int:
        return self.levels.index(level)

    def recruiter_share(self, recruiter_level: str, seller_level: str) -> tuple[str, Fraction]:
        """("management" | "invite" | "none", share) for a recruiter over a seller."""
        recruiter_rank, seller_rank = self.rank(recruiter_level), self.rank(seller_level)
        if recruiter_rank > seller_rank:
            return "management", self.management.get((recruiter_level, seller_level), Fraction(0))
        if recruiter_rank == seller_rank:
            return "invite", self.invite.get(seller_level, Fraction(0))
        return "none", Fraction(0)

    def describe(self) -> list[str]:
        """One line per non-zero entry, e.g. "management B over C: 4%"."""
        lines = [f"seller {lvl}: {format_share(self.seller[lvl])}" for lvl in self.levels]
        for (rec, sel), share in self.management.items():
            if share:
                lines.append(f"management {rec} over {sel}: {format_share(share)}")
        for lvl, share in self.invite.items():
            if share:
                lines.append(f"invite {lvl} over {lvl}: {format_share(share)}")
        if self.partner_levels:
            lines.append(
                f"partner share ({', '.join(sorted(self.partner_levels))}) of the platform margin:"
                f" as seller {format_share(self.partner_as_seller)},"
                f" as recruiter {format_share(self.partner_as_recruiter)}"
            )
        return lines


def build_plan(
    raw: Mapping[str, Any], levels: Sequence[str], *, where: str = "commission", name: str = ""
) -> CommissionPlan:
    """Build and check a plan from its config mapping; raise :class:`ConfigProblems` listing
    every problem, each at its dotted location (``where`` is the prefix)."""
    problems: list[Problem] = []
    levels = tuple(levels)
    if len(levels) < 3:
        problems.append(Problem("levels", "at least three levels are needed (e.g. C, B, A)"))
        raise ConfigProblems(problems)
    if not isinstance(raw, Mapping):
        raise ConfigProblems([Problem(where, "must be a mapping with model and table")])

    allowed = {"model", "table", "partner_share", "name"}
    for key in raw:
        if str(key) in THIRD_LEVEL_KEYS:
            problems.append(_third_level(f"{where}.{key}"))
        elif key not in allowed:
            problems.append(Problem(f"{where}.{key}", f"unknown entry; expected one of {sorted(allowed)}"))

    model = raw.get("model", CUSTOM)
    seller: dict[str, Fraction] = {}
    management: dict[tuple[str, str], Fraction] = {}
    invite: dict[str, Fraction] = {}
    if model not in MODELS:
        problems.append(Problem(f"{where}.model", f"must be team, sales or custom, not {model!r}"))
    elif model in PRESETS:
        if len(levels) != 3:
            problems.append(
                Problem(
                    f"{where}.model",
                    f"the {model} preset is defined for three levels; with {len(levels)} levels"
                    " give the whole table (model: custom)",
                )
            )
        else:
            preset = PRESETS[model]
            seller = {levels[i]: s for i, s in preset["seller"].items()}
            management = {(levels[r], levels[s]): v for (r, s), v in preset["management"].items()}
            invite = {levels[i]: s for i, s in preset["invite"].items()}

    table = raw.get("table") or {}
    if not isinstance(table, Mapping):
        problems.append(Problem(f"{where}.table", "must be a mapping of seller, management, invite"))
        table = {}
    for key, value in table.items():
        path = f"{where}.table.{key}"
        if str(key) in THIRD_LEVEL_KEYS:
            problems.append(_third_level(path))
        elif key == "seller":
            _read_by_level(value, levels, path, seller, problems)
        elif key == "invite":
            _read_by_level(value, levels, path, invite, problems)
        elif key == "management":
            _read_management(value, levels, path, management, problems)
        else:
            problems.append(Problem(path, "unknown entry; expected seller, management or invite"))

    for level in levels:
        if level not in seller:
            problems.append(Problem(f"{where}.table.seller", f"no share for level {level}"))

    partner_levels, as_seller, as_recruiter = _read_partner(
        raw.get("partner_share"), levels, f"{where}.partner_share", problems
    )

    if all(level in seller for level in levels):
        problems.extend(_sums_within_pool(levels, seller, management, invite, f"{where}.table"))
    if problems:
        raise ConfigProblems(problems)
    return CommissionPlan(
        name=name or str(raw.get("name") or model),
        model=model,
        levels=levels,
        seller=seller,
        management=management,
        invite=invite,
        partner_levels=partner_levels,
        partner_as_seller=as_seller,
        partner_as_recruiter=as_recruiter,
    )


def _third_level(path: str) -> Problem:
    return Problem(
        path,
        "pays a third level: only the seller and the seller's direct recruiter may be paid"
        " (two levels at most; three or more is pyramid selling under 禁止传销条例)",
    )


def _share(value: Any, path: str, problems: list[Problem]) -> Fraction | None:
    try:
        return parse_share(value)
    except (TypeError, ValueError) as exc:
        problems.append(Problem(path, str(exc)))
        return None


def _read_by_level(
    value: Any, levels: tuple[str, ...], path: str, into: dict[str, Fraction], problems: list[Problem]
) -> None:
    if not isinstance(value, Mapping):
        problems.append(Problem(path, "must map each level to a share, e.g. {C: 80%}"))
        return
    for level, raw_share in value.items():
        if isinstance(raw_share, Mapping):
            problems.append(_third_level(f"{path}.{level}"))
            continue
        if level not in levels:
            problems.append(Problem(f"{path}.{level}", f"unknown level; levels are {', '.join(levels)}"))
            continue
        share = _share(raw_share, f"{path}.{level}", problems)
        if share is not None:
            into[level] = share


def _read_management(
    value: Any,
    levels: tuple[str, ...],
    path: str,
    into: dict[tuple[str, str], Fraction],
    problems: list[Problem],
) -> None:
    if not isinstance(value, Mapping):
        problems.append(Problem(path, "must map recruiter level → seller level → share, e.g. {B: {C: 4%}}"))
        return
    for recruiter, by_seller in value.items():
        rec_path = f"{path}.{recruiter}"
        if recruiter not in levels:
            problems.append(Problem(rec_path, f"unknown level; levels are {', '.join(levels)}"))
            continue
        if not isinstance(by_seller, Mapping):
            problems.append(Problem(rec_path, "must map seller level → share, e.g. {C: 4%}"))
            continue
        for seller_level, raw_share in by_seller.items():
            entry = f"{rec_path}.{seller_level}"
            if isinstance(raw_share, Mapping):
                problems.append(_third_level(entry))
                continue
            if seller_level not in levels:
                problems.append(Problem(entry, f"unknown level; levels are {', '.join(levels)}"))
                continue
            if levels.index(recruiter) <= levels.index(seller_level):
                problems.append(
                    Problem(
                        entry,
                        f"management share needs a recruiter above the seller; {recruiter} is not"
                        f" above {seller_level} (same level: use invite; lower: nothing is paid)",
                    )
                )
                continue
            share = _share(raw_share, entry, problems)
            if share is not None:
                into[(recruiter, seller_level)] = share


def _read_partner(
    value: Any, levels: tuple[str, ...], path: str, problems: list[Problem]
) -> tuple[frozenset[str], Fraction, Fraction]:
    if not value:
        return frozenset(), Fraction(0), Fraction(0)
    if not isinstance(value, Mapping):
        problems.append(Problem(path, "must be {as_seller: 10%, as_recruiter: 5%, levels: [A]}"))
        return frozenset(), Fraction(0), Fraction(0)
    for key in value:
        if str(key) in THIRD_LEVEL_KEYS:
            problems.append(_third_level(f"{path}.{key}"))
        elif key not in {"as_seller", "as_recruiter", "levels"}:
            problems.append(Problem(f"{path}.{key}", "unknown entry; expected as_seller, as_recruiter, levels"))
    partner_levels = value.get("levels") or [levels[-1]]
    if isinstance(partner_levels, str):
        partner_levels = [partner_levels]
    for level in partner_levels:
        if level not in levels:
            problems.append(Problem(f"{path}.levels", f"unknown level {level!r}"))
    as_seller = _share(value.get("as_seller", 0), f"{path}.as_seller", problems) or Fraction(0)
    as_recruiter = _share(value.get("as_recruiter", 0), f"{path}.as_recruiter", problems) or Fraction(0)
    if as_seller + as_recruiter > 1:
        problems.append(
            Problem(
                path,
                f"as_seller {format_share(as_seller)} + as_recruiter {format_share(as_recruiter)}"
                " is more than the whole platform margin",
            )
        )
    return frozenset(partner_levels), as_seller, as_recruiter


def _sums_within_pool(
    levels: tuple[str, ...],
    seller: Mapping[str, Fraction],
    management: Mapping[tuple[str, str], Fraction],
    invite: Mapping[str, Fraction],
    path: str,
) -> list[Problem]:
    problems = []
    for seller_level in levels:
        own = seller[seller_level]
        for recruiter_level in levels:
            gap = levels.index(recruiter_level) - levels.index(seller_level)
            if gap > 0:
                other = management.get((recruiter_level, seller_level), Fraction(0))
                entry = f"{path}.management.{recruiter_level}.{seller_level}"
                label = f"management {recruiter_level} over {seller_level}"
            elif gap == 0:
                other = invite.get(seller_level, Fraction(0))
                entry = f"{path}.invite.{seller_level}"
                label = f"invite {seller_level} over {seller_level}"
            else:
                continue
            if own + other > 1:
                problems.append(
                    Problem(
                        entry if other else f"{path}.seller.{seller_level}",
                        f"seller {seller_level} ({format_share(own)}) + {label}"
                        f" ({format_share(other)}) = {format_share(own + other)}"
                        f" is more than the whole pool",
                    )
                )
    return problems

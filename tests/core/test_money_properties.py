"""Properties of the split over random tables, pools, levels and recruiter chains.

Every table is written the way ops write one ("37/91", "12.50%") and built with build_plan;
the shares the test meant are kept beside it as Fractions, so the split is checked against
what was written, not against what the plan happened to read.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.commission import Kind, Party, Split, split_sale
from core.money import is_fen_exact, to_fen
from core.plan import CommissionPlan, build_plan
from core.problems import ConfigProblems

FEN = Fraction(1, 100)


@dataclass(frozen=True)
class Table:
    levels: tuple[str, ...]
    raw: dict
    seller: dict[str, Fraction]
    management: dict[tuple[str, str], Fraction]
    invite: dict[str, Fraction]

    def recruiter_share(self, recruiter: str, seller: str) -> tuple[Kind | None, Fraction]:
        gap = self.levels.index(recruiter) - self.levels.index(seller)
        if gap > 0:
            return Kind.MANAGEMENT, self.management.get((recruiter, seller), Fraction(0))
        if gap == 0:
            return Kind.INVITE, self.invite.get(seller, Fraction(0))
        return None, Fraction(0)


@st.composite
def written_shares(draw, limit: Fraction = Fraction(1)) -> tuple[str, Fraction]:
    """A share between 0 and ``limit``, written as a percentage ("12.50%") or a fraction ("37/91");
    often exactly ``limit``, where rounding both shares up would overspend the pool."""
    if draw(st.integers(0, 3)) == 0:
        return f"{limit.numerator}/{limit.denominator}", limit
    if draw(st.booleans()):
        basis_points = draw(st.integers(0, math.floor(limit * 10000)))
        return f"{Decimal(basis_points) / 100}%", Fraction(basis_points, 10000)
    denominator = draw(st.integers(1, 200))
    numerator = draw(st.integers(0, math.floor(limit * denominator)))
    return f"{numerator}/{denominator}", Fraction(numerator, denominator)


@st.composite
def tables(draw) -> Table:
    """A valid table: 3 to 6 levels, seller + recruiter share ≤ the whole pool for every pair."""
    levels = tuple(f"L{i}" for i in range(draw(st.integers(3, 6))))
    raw_seller, raw_management, raw_invite = {}, {}, {}
    seller, management, invite = {}, {}, {}
    for level in levels:
        raw_seller[level], seller[level] = draw(written_shares())
    for low, seller_level in enumerate(levels):
        room = 1 - seller[seller_level]
        for recruiter_level in levels[low + 1 :]:
            if draw(st.booleans()):
                text, share = draw(written_shares(room))
                raw_management.setdefault(recruiter_level, {})[seller_level] = text
                management[(recruiter_level, seller_level)] = share
        if draw(st.booleans()):
            raw_invite[seller_level], invite[seller_level] = draw(written_shares(room))
    raw = {"model": "custom", "table": {"seller": raw_seller, "management": raw_management, "invite": raw_invite}}
    return Table(levels, raw, seller, management, invite)


@st.composite
def partner_shares(draw, levels: tuple[str, ...]) -> dict:
    as_seller, seller_share = draw(written_shares())
    as_recruiter, _ = draw(written_shares(1 - seller_share))
    partner_levels = draw(st.lists(st.sampled_from(levels), min_size=1, unique=True))
    return {"as_seller": as_seller, "as_recruiter": as_recruiter, "levels": partner_levels}


amounts = st.one_of(st.integers(0, 1_000), st.integers(0, 100_000_000)).map(lambda fen: Decimal(fen).scaleb(-2))
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)


@st.composite
def plans(draw) -> tuple[Table, CommissionPlan]:
    table = draw(tables())
    raw = dict(table.raw)
    if draw(st.booleans()):
        raw["partner_share"] = draw(partner_shares(table.levels))
    return table, build_plan(raw, table.levels)


@st.composite
def sales(draw):
    table, plan = draw(plans())
    seller_id, recruiter_id = draw(st.lists(names, min_size=2, max_size=2, unique=True))
    levels = st.sampled_from(table.levels)
    # Mostly a seller with a recruiter; now and then no recruiter, or no seller at all.
    seller = draw(st.one_of(st.none(), *[levels.map(lambda level: Party(seller_id, level))] * 3))
    recruiter = draw(st.one_of(st.none(), *[levels.map(lambda level: Party(recruiter_id, level))] * 3))
    return table, plan, draw(amounts), draw(amounts), seller, recruiter


def pool_paid(split: Split) -> Decimal:
    return sum((p.amount for p in split.payouts if p.kind is not Kind.PARTNER), Decimal("0"))


def partner_paid(split: Split) -> Decimal:
    return sum((p.amount for p in split.payouts if p.kind is Kind.PARTNER), Decimal("0"))


# --- every sale -------------------------------------------------------------------------------


@settings(deadline=None)
@given(sales())
def test_payouts_and_the_platform_always_add_up_to_the_pool_and_the_margin_to_the_fen(sale):
    _, plan, pool, margin, seller, recruiter = sale
    split = split_sale(plan, pool, seller, recruiter, margin=margin)
    assert pool_paid(split) + split.platform == pool
    assert partner_paid(split) + split.platform_margin == margin


@settings(deadline=None)
@given(sales())
def test_no_amount_is_ever_negative_or_a_part_of_a_fen(sale):
    _, plan, pool, margin, seller, recruiter = sale
    split = split_sale(plan, pool, seller, recruiter, margin=margin)
    for amount in [split.platform, split.platform_margin, *(p.amount for p in split.payouts)]:
        assert amount >= 0
        assert is_fen_exact(amount)
    assert all(p.amount > 0 for p in split.payouts)


@settings(deadline=None)
@given(sales())
def test_only_the_seller_and_the_sellers_direct_recruiter_are_ever_paid(sale):
    _, plan, pool, margin, seller, recruiter = sale
    split = split_sale(plan, pool, seller, recruiter, margin=margin)
    allowed = {party.id for party in (seller, recruiter) if party is not None}
    assert len(split.payees) <= 2
    assert split.payees <= allowed
    if seller is None:
        assert split.payouts == ()
        assert (split.platform, split.platform_margin) == (pool, margin)


@settings(deadline=None)
@given(sales())
def test_the_seller_gets_the_pool_times_the_seller_share_as_written_rounded_half_up(sale):
    table, plan, pool, margin, seller, recruiter = sale
    split = split_sale(plan, pool, seller, recruiter, margin=margin)
    if seller is not None:
        assert split.amount_for(seller.id, Kind.SELLER) == to_fen(Fraction(pool) * table.seller[seller.level])


@settings(deadline=None)
@given(sales())
def test_the_recruiter_gets_the_kind_their_level_earns_and_within_a_fen_of_the_exact_share(sale):
    table, plan, pool, margin, seller, recruiter = sale
    split = split_sale(plan, pool, seller, recruiter, margin=margin)
    if seller is None or recruiter is None:
        return
    kind, share = table.recruiter_share(recruiter.level, seller.level)
    recruiter_pool_payouts = [p for p in split.payouts if p.payee == recruiter.id and p.kind is not Kind.PARTNER]
    if kind is None:
        assert recruiter_pool_payouts == []
        return
    assert {p.kind for p in recruiter_pool_payouts} <= {kind}
    amount = split.amount_for(recruiter.id, kind)
    assert abs(Fraction(amount) - Fraction(pool) * share) <= FEN


# --- recruiter chains -------------------------------------------------------------------------


@st.composite
def chains(draw):
    """A plan and a line of distributors, each recruited by the one before."""
    table, plan = draw(plans())
    ids = draw(st.lists(names, min_size=2, max_size=8, unique=True))
    chain = [Party(distributor, draw(st.sampled_from(table.levels))) for distributor in ids]
    return plan, chain, draw(amounts), draw(amounts)


@settings(max_examples=200, deadline=None)
@given(chains())
def test_along_a_recruiter_chain_nobody_above_the_sellers_direct_recruiter_is_paid(case):
    plan, chain, pool, margin = case
    recruiter_of = {chain[i].id: chain[i - 1] for i in range(1, len(chain))}
    paid_by: dict[str, set[int]] = {party.id: set() for party in chain}
    for position, seller in enumerate(chain):
        split = split_sale(plan, pool, seller, recruiter_of.get(seller.id), margin=margin)
        assert len(split.payees) <= 2
        for payee in split.payees:
            paid_by[payee].add(position)
    for position, party in enumerate(chain):
        # Paid from their own sale and their direct recruit's sale, never from a recruit's recruit.
        assert paid_by[party.id] <= {position, position + 1}, f"{party.id} paid by sales at {paid_by[party.id]}"


# --- tables that overspend the pool -----------------------------------------------------------


@st.composite
def overspending_tables(draw):
    """A valid table with one (seller, recruiter) pair rewritten so that together they exceed the pool."""
    table = draw(tables())
    low = draw(st.integers(0, len(table.levels) - 1))
    high = draw(st.integers(low, len(table.levels) - 1))
    seller_level, recruiter_level = table.levels[low], table.levels[high]
    denominator = draw(st.sampled_from([10000, *range(1, 200)]))
    own = draw(st.integers(1, denominator))
    other = draw(st.integers(denominator - own + 1, denominator))

    def written(numerator: int) -> str:
        if denominator == 10000:
            return f"{Decimal(numerator) / 100}%"
        return f"{numerator}/{denominator}"

    raw_table = copy.deepcopy(table.raw["table"])
    raw_table["seller"][seller_level] = written(own)
    if high > low:
        raw_table["management"].setdefault(recruiter_level, {})[seller_level] = written(other)
        entry = f"commission.table.management.{recruiter_level}.{seller_level}"
    else:
        raw_table["invite"][seller_level] = written(other)
        entry = f"commission.table.invite.{seller_level}"
    return table.levels, {"model": "custom", "table": raw_table}, entry


@settings(max_examples=200, deadline=None)
@given(overspending_tables())
def test_a_table_where_any_pair_of_levels_takes_more_than_the_pool_is_always_refused_naming_the_entry(case):
    levels, raw, entry = case
    with pytest.raises(ConfigProblems) as caught:
        build_plan(raw, levels)
    messages = {problem.path: problem.message for problem in caught.value.problems}
    assert entry in messages
    assert "more than the whole pool" in messages[entry]

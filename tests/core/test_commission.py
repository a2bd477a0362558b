"""Splitting one sale's pool: the worked figures, who is paid, and what is refused."""

from datetime import datetime
from decimal import Decimal

import pytest

from core.attribution import FanLockRule, Lock, Why, attribute
from core.commission import Kind, Party, Payout, split_sale
from core.plan import build_plan

LEVELS = ("C", "B", "A")
TEAM = build_plan({"model": "team"}, LEVELS)
SALES = build_plan({"model": "sales"}, LEVELS)
PARTNER = build_plan({"model": "sales", "partner_share": {"as_seller": "10%", "as_recruiter": "5%"}}, LEVELS)

C_SELLER = Party("zhang", "C")
B_RECRUITER = Party("li", "B")
POOL = Decimal("180.00")


# --- the two worked figures -------------------------------------------------------------------


def test_a_c_recruited_by_a_b_earns_100_and_the_b_80_under_the_team_table():
    split = split_sale(TEAM, POOL, C_SELLER, B_RECRUITER)
    assert split.payouts == (
        Payout("zhang", Kind.SELLER, Decimal("100.00")),
        Payout("li", Kind.MANAGEMENT, Decimal("80.00")),
    )
    assert split.platform == Decimal("0.00")


def test_a_c_recruited_by_a_b_earns_144_and_the_b_7_20_under_the_sales_table():
    split = split_sale(SALES, POOL, C_SELLER, B_RECRUITER)
    assert split.payouts == (
        Payout("zhang", Kind.SELLER, Decimal("144.00")),
        Payout("li", Kind.MANAGEMENT, Decimal("7.20")),
    )
    assert split.platform == Decimal("28.80")


def test_the_worked_figures_come_out_the_same_from_a_custom_table_written_as_in_the_issue():
    team = build_plan({"table": {"seller": {"C": "5/9", "B": 1, "A": 1}, "management": {"B": {"C": "4/9"}}}}, LEVELS)
    sales = build_plan({"table": {"seller": {"C": "80%", "B": 1, "A": 1}, "management": {"B": {"C": "4%"}}}}, LEVELS)
    team_split = split_sale(team, POOL, C_SELLER, B_RECRUITER)
    sales_split = split_sale(sales, POOL, C_SELLER, B_RECRUITER)
    assert [str(p.amount) for p in team_split.payouts] + [str(team_split.platform)] == ["100.00", "80.00", "0.00"]
    assert [str(p.amount) for p in sales_split.payouts] + [str(sales_split.platform)] == ["144.00", "7.20", "28.80"]


# --- who the recruiter is ---------------------------------------------------------------------


def test_in_the_team_preset_a_c_who_recruits_a_c_earns_nothing_from_that_recruits_sales():
    split = split_sale(TEAM, POOL, C_SELLER, Party("wang", "C"))
    assert split.payees == frozenset({"zhang"})
    assert split.amount_for("wang") == Decimal("0.00")
    assert split.platform == Decimal("80.00")


@pytest.mark.parametrize(("seller_level", "recruiter_level"), [("A", "C"), ("A", "B"), ("B", "C")])
def test_a_recruiter_at_a_lower_level_than_the_seller_gets_nothing(seller_level, recruiter_level):
    split = split_sale(SALES, POOL, Party("zhao", seller_level), Party("wang", recruiter_level))
    seller_amount = {"A": Decimal("162.00"), "B": Decimal("153.00")}[seller_level]
    assert split.payouts == (Payout("zhao", Kind.SELLER, seller_amount),)
    assert split.platform == POOL - seller_amount


def test_a_recruiter_at_the_same_level_is_paid_an_invite_commission():
    split = split_sale(SALES, POOL, Party("zhou", "B"), B_RECRUITER)
    assert split.payouts == (
        Payout("zhou", Kind.SELLER, Decimal("153.00")),
        Payout("li", Kind.INVITE, Decimal("3.60")),
    )
    assert split.platform == Decimal("23.40")


def test_a_seller_with_no_recruiter_is_the_only_payee():
    split = split_sale(SALES, POOL, C_SELLER)
    assert split.payouts == (Payout("zhang", Kind.SELLER, Decimal("144.00")),)
    assert split.platform == Decimal("36.00")


def test_a_sale_no_distributor_made_leaves_the_whole_pool_and_margin_to_the_platform():
    split = split_sale(SALES, POOL, None, margin=Decimal("50.00"))
    assert split.payouts == ()
    assert split.platform == POOL
    assert split.platform_margin == Decimal("50.00")


def test_a_distributor_cannot_be_their_own_recruiter():
    with pytest.raises(ValueError, match="their own recruiter"):
        split_sale(SALES, POOL, C_SELLER, Party("zhang", "B"))


def test_a_party_at_a_level_the_plan_does_not_know_is_refused():
    with pytest.raises(ValueError, match="unknown level 'S'"):
        split_sale(SALES, POOL, Party("zhang", "S"))


# --- rounding ---------------------------------------------------------------------------------


def test_a_pool_that_does_not_divide_evenly_still_adds_up_to_the_fen():
    split = split_sale(TEAM, Decimal("10.00"), C_SELLER, B_RECRUITER)
    # 10 × 5/9 = 5.555… → 5.56 to the C; the B gets the rest of 10 × 9/9.
    assert split.amount_for("zhang") == Decimal("5.56")
    assert split.amount_for("li") == Decimal("4.44")
    assert split.platform == Decimal("0.00")


def test_a_half_fen_goes_to_the_seller_and_the_recruiter_gets_the_rounded_remainder():
    plan = build_plan({"table": {"seller": {"C": "1/2", "B": 1, "A": 1}, "management": {"B": {"C": "1/4"}}}}, LEVELS)
    split = split_sale(plan, Decimal("0.05"), C_SELLER, B_RECRUITER)
    # seller 0.025 → 0.03; seller+recruiter 0.0375 → 0.04, so the recruiter gets 0.01.
    assert split.amount_for("zhang") == Decimal("0.03")
    assert split.amount_for("li") == Decimal("0.01")
    assert split.platform == Decimal("0.01")


def test_a_pool_shared_half_and_half_with_a_half_fen_never_pays_out_more_than_the_pool():
    plan = build_plan({"table": {"seller": {"C": "1/2", "B": 1, "A": 1}, "invite": {"C": "1/2"}}}, LEVELS)
    split = split_sale(plan, Decimal("0.05"), C_SELLER, Party("wang", "C"))
    assert split.amount_for("zhang") == Decimal("0.03")
    assert split.amount_for("wang") == Decimal("0.02")
    assert split.platform == Decimal("0.00")


# --- self-purchase ----------------------------------------------------------------------------


def test_a_distributor_buying_for_themself_is_the_seller_and_paid_a_seller_commission():
    now = datetime(2025, 3, 1, 12, 0)
    decided = attribute(
        rule=FanLockRule(),
        now=now,
        history=[Lock("wang", datetime(2025, 1, 1))],
        ref_distributor="li",
        buyer_distributor="zhang",
    )
    assert decided.seller == "zhang"
    assert decided.why is Why.SELF_PURCHASE
    assert decided.new_lock is None

    split = split_sale(SALES, POOL, Party(decided.seller, "C"), B_RECRUITER)
    assert split.amount_for("zhang", Kind.SELLER) == Decimal("144.00")
    assert split.amount_for("li", Kind.MANAGEMENT) == Decimal("7.20")
    assert split.amount_for("wang") == Decimal("0.00")


# --- partner share ----------------------------------------------------------------------------


def test_an_a_seller_gets_a_partner_payout_from_the_platform_margin():
    split = split_sale(PARTNER, POOL, Party("zhao", "A"), margin=Decimal("50.00"))
    assert split.payouts == (
        Payout("zhao", Kind.SELLER, Decimal("162.00")),
        Payout("zhao", Kind.PARTNER, Decimal("5.00")),
    )
    assert split.platform == Decimal("18.00")
    assert split.platform_margin == Decimal("45.00")


def test_an_a_recruiter_gets_a_partner_payout_from_the_margin_on_a_recruits_sale():
    split = split_sale(PARTNER, POOL, C_SELLER, Party("zhao", "A"), margin=Decimal("50.00"))
    assert split.payouts == (
        Payout("zhang", Kind.SELLER, Decimal("144.00")),
        Payout("zhao", Kind.MANAGEMENT, Decimal("10.80")),
        Payout("zhao", Kind.PARTNER, Decimal("2.50")),
    )
    assert split.platform_margin == Decimal("47.50")


def test_an_a_seller_recruited_by_an_a_both_take_a_partner_share_and_still_only_two_people_are_paid():
    split = split_sale(PARTNER, POOL, Party("zhao", "A"), Party("qian", "A"), margin=Decimal("33.33"))
    assert split.payees == frozenset({"zhao", "qian"})
    assert split.amount_for("zhao", Kind.PARTNER) == Decimal("3.33")
    assert split.amount_for("qian", Kind.PARTNER) == Decimal("1.67")
    assert split.amount_for("qian", Kind.INVITE) == Decimal("5.40")
    partner_paid = sum(p.amount for p in split.payouts if p.kind is Kind.PARTNER)
    assert partner_paid + split.platform_margin == Decimal("33.33")
    pool_paid = sum(p.amount for p in split.payouts if p.kind is not Kind.PARTNER)
    assert pool_paid + split.platform == POOL


def test_a_seller_below_the_partner_level_gets_no_partner_share():
    split = split_sale(PARTNER, POOL, C_SELLER, B_RECRUITER, margin=Decimal("50.00"))
    assert all(p.kind is not Kind.PARTNER for p in split.payouts)
    assert split.platform_margin == Decimal("50.00")


def test_partner_levels_can_be_named_and_then_only_they_share_the_margin():
    plan = build_plan({"model": "sales", "partner_share": {"as_seller": "10%", "levels": ["B", "A"]}}, LEVELS)
    split = split_sale(plan, POOL, Party("zhou", "B"), margin=Decimal("20.00"))
    assert split.amount_for("zhou", Kind.PARTNER) == Decimal("2.00")
    assert split_sale(plan, POOL, C_SELLER, margin=Decimal("20.00")).amount_for("zhang", Kind.PARTNER) == 0


# --- refused pools ----------------------------------------------------------------------------


def test_a_pool_with_a_part_of_a_fen_is_refused():
    with pytest.raises(ValueError, match=r"pool must be whole fen: 180\.005"):
        split_sale(SALES, Decimal("180.005"), C_SELLER)


def test_a_negative_pool_is_refused():
    with pytest.raises(ValueError, match="pool cannot be negative"):
        split_sale(SALES, Decimal("-1.00"), C_SELLER)


def test_a_float_pool_is_refused():
    with pytest.raises(TypeError, match="float"):
        split_sale(SALES, 180.0, C_SELLER)


def test_a_margin_with_a_part_of_a_fen_is_refused():
    with pytest.raises(ValueError, match="margin must be whole fen"):
        split_sale(SALES, POOL, C_SELLER, margin=Decimal("0.001"))


def test_a_zero_pool_pays_nobody_and_leaves_the_platform_nothing():
    split = split_sale(SALES, Decimal("0"), C_SELLER, B_RECRUITER)
    assert split.payouts == ()
    assert split.platform == Decimal("0.00")

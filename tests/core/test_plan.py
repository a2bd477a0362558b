"""Commission plans: presets, overrides, custom tables, and the tables that must be refused."""

from decimal import Decimal
from fractions import Fraction

import pytest

from core.plan import build_plan
from core.problems import ConfigProblems

LEVELS = ("C", "B", "A")


def refused(raw, levels=LEVELS):
    """The problems build_plan reports for ``raw``, as {path: message}."""
    with pytest.raises(ConfigProblems) as caught:
        build_plan(raw, levels)
    return {problem.path: problem.message for problem in caught.value.problems}


def custom(seller=None, management=None, invite=None, **extra):
    table = {"seller": seller if seller is not None else {"C": "80%", "B": "85%", "A": "90%"}}
    if management is not None:
        table["management"] = management
    if invite is not None:
        table["invite"] = invite
    return {"model": "custom", "table": table, **extra}


# --- presets and overrides --------------------------------------------------------------------


def test_the_team_preset_gives_a_c_seller_five_ninths_and_a_b_over_a_c_four_ninths():
    plan = build_plan({"model": "team"}, LEVELS)
    assert plan.seller == {"C": Fraction(5, 9), "B": Fraction(7, 9), "A": Fraction(1)}
    assert plan.management[("B", "C")] == Fraction(4, 9)
    assert plan.management[("A", "C")] == Fraction(4, 9)
    assert plan.management[("A", "B")] == Fraction(2, 9)


def test_the_team_preset_pays_a_c_nothing_for_inviting_another_c():
    plan = build_plan({"model": "team"}, LEVELS)
    assert plan.recruiter_share("C", "C") == ("invite", Fraction(0))


def test_the_sales_preset_gives_a_c_seller_80_percent_and_a_b_over_a_c_4_percent():
    plan = build_plan({"model": "sales"}, LEVELS)
    assert plan.seller["C"] == Fraction(4, 5)
    assert plan.recruiter_share("B", "C") == ("management", Fraction(4, 100))
    assert plan.recruiter_share("B", "B") == ("invite", Fraction(2, 100))


def test_a_recruiter_below_the_seller_is_owed_nothing_by_any_preset():
    for model in ("team", "sales"):
        assert build_plan({"model": model}, LEVELS).recruiter_share("C", "A") == ("none", Fraction(0))


def test_presets_follow_the_platforms_own_level_names_lowest_first():
    plan = build_plan({"model": "sales"}, ("bronze", "silver", "gold"))
    assert plan.seller["bronze"] == Fraction(4, 5)
    assert plan.management[("gold", "silver")] == Fraction(5, 100)


def test_an_override_replaces_one_preset_entry_and_keeps_all_the_others():
    plan = build_plan({"model": "sales", "table": {"seller": {"C": "70%"}, "management": {"B": {"C": "10%"}}}}, LEVELS)
    assert plan.seller == {"C": Fraction(7, 10), "B": Fraction(85, 100), "A": Fraction(90, 100)}
    assert plan.management[("B", "C")] == Fraction(1, 10)
    assert plan.management[("A", "C")] == Fraction(6, 100)
    assert plan.invite["A"] == Fraction(3, 100)


def test_an_override_that_pushes_a_preset_over_the_pool_is_refused():
    problems = refused({"model": "team", "table": {"invite": {"A": "1%"}}})
    assert "more than the whole pool" in problems["commission.table.invite.A"]


def test_a_plan_without_a_name_is_named_after_its_model():
    assert build_plan({"model": "team"}, LEVELS).name == "team"
    assert build_plan({"model": "team", "name": "spring"}, LEVELS).name == "spring"


def test_a_plan_describes_its_non_zero_entries_in_words():
    lines = build_plan({"model": "sales"}, LEVELS).describe()
    assert "seller C: 80%" in lines
    assert "management B over C: 4%" in lines
    assert "invite B over B: 2%" in lines


# --- custom tables ----------------------------------------------------------------------------


def test_a_custom_table_accepts_shares_written_as_percent_decimal_and_fraction():
    plan = build_plan(
        custom(
            seller={"C": "80%", "B": "0.85", "A": "9/10"},
            management={"B": {"C": Decimal("0.04")}, "A": {"C": "1/20", "B": "5%"}},
            invite={"C": 0, "B": "2%"},
        ),
        LEVELS,
    )
    assert plan.seller == {"C": Fraction(4, 5), "B": Fraction(17, 20), "A": Fraction(9, 10)}
    assert plan.management == {("B", "C"): Fraction(1, 25), ("A", "C"): Fraction(1, 20), ("A", "B"): Fraction(1, 20)}
    assert plan.invite == {"C": Fraction(0), "B": Fraction(1, 50)}


def test_a_custom_table_missing_a_seller_share_is_refused_naming_the_level():
    problems = refused(custom(seller={"C": "80%", "B": "85%"}))
    assert problems == {"commission.table.seller": "no share for level A"}


def test_a_plan_with_no_model_is_a_custom_table_and_needs_every_seller_share():
    problems = refused({"table": {"seller": {"C": "80%"}}})
    assert set(problems) == {"commission.table.seller"}


def test_a_custom_table_may_leave_out_management_and_invite_which_then_pay_nothing():
    plan = build_plan(custom(), LEVELS)
    assert plan.recruiter_share("A", "C") == ("management", Fraction(0))
    assert plan.recruiter_share("B", "B") == ("invite", Fraction(0))


def test_a_four_level_custom_table_is_accepted():
    levels = ("D", "C", "B", "A")
    plan = build_plan(
        custom(
            seller={"D": "50%", "C": "60%", "B": "70%", "A": "80%"},
            management={"C": {"D": "10%"}, "B": {"D": "20%", "C": "15%"}, "A": {"D": "30%", "C": "25%", "B": "20%"}},
        ),
        levels,
    )
    assert plan.levels == levels
    assert plan.recruiter_share("A", "D") == ("management", Fraction(3, 10))


def test_a_preset_for_four_levels_is_refused_asking_for_a_custom_table():
    problems = refused({"model": "team"}, ("D", "C", "B", "A"))
    message = problems["commission.model"]
    assert "three levels" in message
    assert "model: custom" in message


def test_fewer_than_three_levels_are_refused():
    problems = refused({"model": "team"}, ("C", "A"))
    assert "at least three levels" in problems["levels"]


def test_an_unknown_model_is_refused_naming_the_allowed_ones():
    problems = refused({"model": "pyramid", "table": {"seller": {"C": 1, "B": 1, "A": 1}}})
    assert "team, sales or custom" in problems["commission.model"]


def test_a_share_for_an_unknown_level_is_refused_listing_the_levels():
    problems = refused({"model": "sales", "table": {"seller": {"S": "50%"}}})
    assert "levels are C, B, A" in problems["commission.table.seller.S"]


def test_an_unreadable_share_is_refused_at_its_entry():
    problems = refused({"model": "sales", "table": {"seller": {"C": "lots"}, "invite": {"B": 0.02}}})
    assert "not a share" in problems["commission.table.seller.C"]
    assert "float" in problems["commission.table.invite.B"]


# --- management only for a recruiter above the seller -----------------------------------------


@pytest.mark.parametrize(("recruiter", "seller"), [("C", "B"), ("B", "B"), ("C", "A")])
def test_a_management_entry_whose_recruiter_is_not_above_the_seller_is_refused(recruiter, seller):
    problems = refused({"model": "sales", "table": {"management": {recruiter: {seller: "1%"}}}})
    message = problems[f"commission.table.management.{recruiter}.{seller}"]
    assert f"{recruiter} is not above {seller}" in message


# --- two levels at most -----------------------------------------------------------------------


def test_a_nested_management_entry_is_refused_as_paying_a_third_level_at_its_path():
    problems = refused({"model": "sales", "table": {"management": {"A": {"B": {"C": "1%"}}}}})
    assert list(problems) == ["commission.table.management.A.B"]
    assert "third level" in problems["commission.table.management.A.B"]


@pytest.mark.parametrize("key", ["indirect", "grand_recruiter", "upline", "level_3"])
def test_a_third_level_key_at_the_top_of_the_plan_is_refused(key):
    problems = refused({"model": "sales", key: {"C": "1%"}})
    assert "third level" in problems[f"commission.{key}"]


@pytest.mark.parametrize("key", ["indirect", "grand_recruiter", "recruiter_of_recruiter"])
def test_a_third_level_key_inside_the_table_is_refused(key):
    problems = refused({"model": "sales", "table": {key: {"A": {"C": "1%"}}}})
    assert "third level" in problems[f"commission.table.{key}"]


def test_a_nested_seller_entry_is_refused_as_paying_a_third_level():
    problems = refused({"model": "sales", "table": {"seller": {"C": {"B": "1%"}}}})
    assert "third level" in problems["commission.table.seller.C"]


def test_a_third_level_key_inside_the_partner_share_is_refused():
    problems = refused({"model": "sales", "partner_share": {"as_seller": "10%", "indirect": "1%"}})
    assert "third level" in problems["commission.partner_share.indirect"]


# --- nothing beyond the whole pool ------------------------------------------------------------


def test_seller_plus_management_over_the_whole_pool_is_refused_naming_the_entry():
    problems = refused(custom(management={"B": {"C": "30%"}}))
    message = problems["commission.table.management.B.C"]
    assert "more than the whole pool" in message
    assert "seller C (80%) + management B over C (30%) = 110%" in message


def test_seller_plus_invite_over_the_whole_pool_is_refused_naming_the_invite_entry():
    problems = refused(custom(invite={"B": "1/5"}))
    assert "more than the whole pool" in problems["commission.table.invite.B"]


def test_seller_plus_recruiter_exactly_the_whole_pool_is_accepted():
    plan = build_plan(custom(management={"B": {"C": "20%"}}, invite={"A": "1/10"}), LEVELS)
    assert plan.seller["C"] + plan.management[("B", "C")] == 1


def test_the_where_prefix_names_the_plan_in_every_path():
    with pytest.raises(ConfigProblems) as caught:
        build_plan(custom(management={"B": {"C": "30%"}}), LEVELS, where="commission.plans.spring")
    assert [p.path for p in caught.value.problems] == ["commission.plans.spring.table.management.B.C"]


# --- partner share ----------------------------------------------------------------------------


def test_a_partner_share_defaults_to_the_top_level():
    plan = build_plan({"model": "sales", "partner_share": {"as_seller": "10%", "as_recruiter": "5%"}}, LEVELS)
    assert plan.partner_levels == frozenset({"A"})
    assert (plan.partner_as_seller, plan.partner_as_recruiter) == (Fraction(1, 10), Fraction(1, 20))


def test_a_partner_share_over_the_whole_platform_margin_is_refused():
    problems = refused({"model": "sales", "partner_share": {"as_seller": "70%", "as_recruiter": "40%"}})
    message = problems["commission.partner_share"]
    assert "as_seller 70% + as_recruiter 40%" in message
    assert "more than the whole platform margin" in message


def test_a_partner_share_for_an_unknown_level_is_refused():
    problems = refused({"model": "sales", "partner_share": {"as_seller": "10%", "levels": ["S"]}})
    assert "unknown level 'S'" in problems["commission.partner_share.levels"]


# --- everything at once -----------------------------------------------------------------------


def test_every_problem_in_a_plan_is_reported_at_once():
    with pytest.raises(ConfigProblems) as caught:
        build_plan(
            {
                "model": "custom",
                "indirect": {"C": "1%"},
                "table": {
                    "seller": {"C": "80%", "B": "85%"},
                    "management": {"B": {"C": "30%"}, "C": {"B": "1%"}, "A": {"B": {"C": "1%"}}},
                    "grand_recruiter": {"C": "1%"},
                },
                "partner_share": {"as_seller": "60%", "as_recruiter": "60%"},
            },
            LEVELS,
        )
    paths = [p.path for p in caught.value.problems]
    assert set(paths) == {
        "commission.indirect",
        "commission.table.management.C.B",
        "commission.table.management.A.B",
        "commission.table.grand_recruiter",
        "commission.table.seller",
        "commission.partner_share",
    }
    assert "commission.table.management.A.B: pays a third level" in str(caught.value)

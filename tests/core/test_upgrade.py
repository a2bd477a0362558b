"""Rule 9: upgrade conditions (AND inside a set, OR between sets) and how far a distributor is
from the next level."""

from decimal import Decimal

import pytest

from core.upgrade import Climber, LevelUp, Metric, UpgradeStep, climb, level_after, progress

M = Metric
C_TO_B = UpgradeStep(
    "C",
    "B",
    (
        {M.PROMOTED_SALES: Decimal("10000"), M.CUSTOMERS: Decimal("20")},
        {M.TEAM_VIPS: Decimal("30"), M.DIRECT_VIPS: Decimal("15")},
    ),
)
B_TO_A = UpgradeStep("B", "A", ({M.PROMOTED_SALES: Decimal("50000"), M.CUSTOMERS: Decimal("100")},))
STEPS = (C_TO_B, B_TO_A)


def metrics(**values: str) -> dict[Metric, Decimal]:
    return {Metric(name): Decimal(value) for name, value in values.items()}


# --- AND within a set, OR between sets --------------------------------------------------------


def test_promoting_ten_thousand_yuan_to_twenty_customers_makes_a_c_eligible_for_b():
    result = progress("C", metrics(promoted_sales="10000.00", customers="20"), STEPS)
    assert (result.next_level, result.eligible) == ("B", True)


@pytest.mark.parametrize(
    "values",
    [
        {"promoted_sales": "10000.00", "customers": "19"},
        {"promoted_sales": "9999.99", "customers": "20"},
        {"team_vips": "30", "direct_vips": "14"},
        {"promoted_sales": "10000.00", "direct_vips": "15"},  # one condition from each set
    ],
)
def test_meeting_only_part_of_every_condition_set_is_not_enough(values):
    assert progress("C", metrics(**values), STEPS).eligible is False


def test_thirty_team_vips_and_fifteen_direct_vips_also_make_a_c_eligible_for_b():
    result = progress("C", metrics(team_vips="30", direct_vips="15"), STEPS)
    assert result.eligible is True
    assert result.closest == 1
    assert result.sets[1].met and not result.sets[0].met


# --- progress figures -------------------------------------------------------------------------


def test_the_docstring_example_6500_yuan_and_20_customers_is_65_percent_missing_3500_yuan():
    result = progress("C", metrics(promoted_sales="6500.00", customers="20"), STEPS)
    assert result.closest == 0
    sales, customers = result.sets[0].conditions
    assert (sales.metric, sales.current, sales.target, sales.percent, sales.missing) == (
        M.PROMOTED_SALES,
        Decimal("6500.00"),
        Decimal("10000"),
        65,
        Decimal("3500.00"),
    )
    assert (customers.percent, customers.missing, customers.met) == (100, Decimal("0"), True)
    assert sales.met is False


def test_the_percentage_is_rounded_down_never_up():
    result = progress("C", metrics(promoted_sales="6599.99", customers="19"), STEPS)
    sales, customers = result.sets[0].conditions
    assert (sales.percent, customers.percent) == (65, 95)
    assert customers.missing == Decimal("1")


def test_a_condition_just_short_of_its_target_shows_99_percent_not_100():
    result = progress("C", metrics(promoted_sales="9999.99", customers="20"), STEPS)
    assert result.sets[0].conditions[0].percent == 99
    assert result.sets[0].conditions[0].missing == Decimal("0.01")


def test_overshooting_a_target_is_capped_at_100_percent_with_nothing_missing():
    result = progress("C", metrics(promoted_sales="25000.00", customers="3"), STEPS)
    sales = result.sets[0].conditions[0]
    assert (sales.percent, sales.missing, sales.met) == (100, Decimal("0"), True)


def test_a_metric_the_caller_did_not_give_counts_as_zero():
    result = progress("C", {}, STEPS)
    assert [(c.current, c.percent, c.missing) for c in result.sets[1].conditions] == [
        (Decimal("0"), 0, Decimal("30")),
        (Decimal("0"), 0, Decimal("15")),
    ]


def test_the_closest_set_is_the_one_nearest_completion():
    result = progress("C", metrics(promoted_sales="1000.00", customers="2", team_vips="27", direct_vips="12"), STEPS)
    assert result.closest == 1
    assert [c.percent for c in result.sets[1].conditions] == [90, 80]


def test_at_equal_completion_the_set_with_fewer_conditions_left_is_closest():
    # Set 0: 50% and 50% (two missing); set 1: 100% and 0% (one missing).
    result = progress("C", metrics(promoted_sales="5000.00", customers="10", team_vips="30"), STEPS)
    assert result.sets[0].completion == result.sets[1].completion
    assert result.closest == 1


def test_a_met_set_is_the_closest_even_when_another_set_is_also_nearly_met():
    result = progress("C", metrics(promoted_sales="10000.00", customers="20", team_vips="29", direct_vips="15"), STEPS)
    assert result.closest == 0


def test_the_top_level_has_no_next_level_and_nothing_to_show():
    result = progress("A", metrics(promoted_sales="999999.00", customers="999"), STEPS)
    assert (result.next_level, result.sets, result.closest, result.eligible) == (None, (), None, False)


# --- level_after ------------------------------------------------------------------------------


def test_a_c_meeting_both_steps_climbs_straight_to_a():
    assert level_after("C", metrics(promoted_sales="60000.00", customers="120"), STEPS) == "A"


def test_a_c_meeting_only_the_first_step_climbs_to_b_and_stops():
    assert level_after("C", metrics(promoted_sales="12000.00", customers="40"), STEPS) == "B"


def test_a_c_meeting_no_step_stays_c():
    assert level_after("C", metrics(promoted_sales="9000.00", customers="40"), STEPS) == "C"


def test_a_top_level_distributor_stays_at_the_top():
    assert level_after("A", metrics(promoted_sales="60000.00", customers="120"), STEPS) == "A"


def test_steps_that_lead_back_to_an_earlier_level_do_not_loop_forever():
    looping = (UpgradeStep("C", "B", ({},)), UpgradeStep("B", "C", ({},)))
    assert level_after("C", {}, looping) == "B"


# --- climb: the cascade after a sale ----------------------------------------------------------

EASY = (
    UpgradeStep("C", "B", ({M.PROMOTED_SALES: Decimal("399")}, {M.DIRECT_VIPS: Decimal("1")})),
    UpgradeStep("B", "A", ({M.PROMOTED_SALES: Decimal("50000")},)),
)
VIPS = frozenset({"B", "A"})


def test_the_worked_example_a_seller_becoming_a_vip_lifts_her_recruiter_and_stops_at_the_b_above():
    chain = [
        Climber("zhao", "C", metrics(promoted_sales="399.00", direct_vips="0")),
        Climber("li", "C", metrics(promoted_sales="0.00", direct_vips="0")),
        Climber("wang", "B", metrics(promoted_sales="100.00")),
    ]
    assert climb(chain, EASY, VIPS) == [LevelUp("zhao", "C", "B"), LevelUp("li", "C", "B")]


def test_a_seller_who_climbs_nothing_ends_the_cascade_without_reading_the_rest_of_the_chain():
    read = []

    def chain():
        for person in ("zhao", "li"):
            read.append(person)
            yield Climber(person, "C", metrics(promoted_sales="10.00", direct_vips="0"))

    assert climb(chain(), EASY, VIPS) == []
    assert read == ["zhao"]


def test_a_recruit_climbing_to_a_level_that_is_not_vip_leaves_the_recruiters_counts_alone():
    chain = [
        Climber("zhao", "C", metrics(promoted_sales="399.00")),
        Climber("li", "C", metrics(promoted_sales="0.00", direct_vips="0")),
    ]
    assert climb(chain, EASY, frozenset({"A"})) == [LevelUp("zhao", "C", "B")]


def test_a_new_vip_counts_in_the_team_of_the_recruiters_recruiter_too():
    team = (UpgradeStep("C", "B", ({M.PROMOTED_SALES: Decimal("399")}, {M.TEAM_VIPS: Decimal("2")})),)
    chain = [
        Climber("zhao", "C", metrics(promoted_sales="399.00", team_vips="0")),
        Climber("li", "C", metrics(promoted_sales="0.00", team_vips="0")),  # 1 → stays C
        Climber("wang", "C", metrics(promoted_sales="0.00", team_vips="1")),
    ]
    assert climb(chain, team, VIPS) == [LevelUp("zhao", "C", "B")]  # li stays, so wang is never looked at


def test_a_recruiter_loop_in_the_data_does_not_climb_anyone_twice():
    chain = [Climber("zhao", "C", metrics(promoted_sales="399.00")), Climber("zhao", "B", metrics())]
    assert climb(chain, EASY, VIPS) == [LevelUp("zhao", "C", "B")]

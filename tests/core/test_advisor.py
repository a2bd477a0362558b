"""Rule 10: the config advisor warns (never refuses) where a configuration works against itself
or leans on a pattern 禁止传销条例 art. 7 names."""

from decimal import Decimal
from pathlib import Path as FsPath

from bot.base.config import load_settings
from core.advisor import advise
from core.entry import EntryRules, Path
from core.plan import build_plan
from core.upgrade import Metric, UpgradeStep

LEVELS = ("C", "B", "A")
SALES = build_plan({"model": "sales"}, LEVELS)
TEAM = build_plan({"model": "team"}, LEVELS)
CODE_ONLY = EntryRules(frozenset({Path.CODE}))
SALES_UPGRADE = (UpgradeStep("C", "B", ({Metric.PROMOTED_SALES: Decimal("10000"), Metric.CUSTOMERS: Decimal("20")},)),)
SHIPPED_CONFIG = FsPath(__file__).resolve().parents[2] / "config.yaml"


def paths_of(warnings) -> list[str]:
    return [w.path for w in warnings]


def test_a_sales_plan_with_a_code_path_and_sales_upgrades_draws_no_warning():
    assert advise(SALES, CODE_ONLY, SALES_UPGRADE) == []


def test_a_sales_plan_with_automatic_entry_on_purchases_warns_that_sellers_lose_their_best_customers():
    entry = EntryRules(frozenset({Path.CODE, Path.PURCHASE}), purchase_threshold=Decimal("99.00"))
    [warning] = advise(SALES, entry, SALES_UPGRADE)
    assert warning.path == "entry.paths"
    assert "99.00 yuan" in warning.message
    assert "self-purchases" in warning.message


def test_a_team_plan_with_automatic_entry_on_purchases_alongside_codes_draws_no_warning():
    entry = EntryRules(frozenset({Path.CODE, Path.PURCHASE}), purchase_threshold=Decimal("99.00"))
    assert advise(TEAM, entry, SALES_UPGRADE) == []


def test_a_purchase_threshold_as_the_only_way_in_warns_of_an_entry_fee_under_the_regulation():
    entry = EntryRules(frozenset({Path.PURCHASE}), purchase_threshold=Decimal("99.00"))
    [warning] = advise(TEAM, entry, SALES_UPGRADE)
    assert warning.path == "entry.paths"
    assert "禁止传销条例" in warning.message
    assert "entry fee" in warning.message


def test_a_sales_plan_with_purchase_as_the_only_way_in_gets_both_warnings():
    entry = EntryRules(frozenset({Path.PURCHASE}), purchase_threshold=Decimal("99.00"))
    warnings = advise(SALES, entry, SALES_UPGRADE)
    assert len(warnings) == 2
    assert sum("禁止传销条例" in w.message for w in warnings) == 1


def test_an_upgrade_counting_the_team_size_warns_that_it_counts_indirect_recruits():
    steps = (UpgradeStep("C", "B", ({Metric.PROMOTED_SALES: Decimal("3000"), Metric.TEAM_SIZE: Decimal("10")},)),)
    [warning] = advise(TEAM, CODE_ONLY, steps)
    assert warning.path == "upgrades[0].any_of[0].team_size"
    assert "indirect recruits" in warning.message
    assert "C→B" in warning.message


def test_an_upgrade_counting_team_vips_in_a_second_set_warns_at_that_set():
    steps = (
        UpgradeStep("C", "B", ({Metric.PROMOTED_SALES: Decimal("10000")},)),
        UpgradeStep(
            "B",
            "A",
            (
                {Metric.PROMOTED_SALES: Decimal("50000")},
                {Metric.PROMOTED_SALES: Decimal("20000"), Metric.TEAM_VIPS: Decimal("30")},
            ),
        ),
    )
    assert paths_of(advise(TEAM, CODE_ONLY, steps)) == ["upgrades[1].any_of[1].team_vips"]


def test_a_condition_set_made_only_of_head_counts_warns_of_pay_per_person_recruited():
    steps = (UpgradeStep("C", "B", ({Metric.DIRECT_INVITES: Decimal("10"), Metric.DIRECT_VIPS: Decimal("3")},)),)
    [warning] = advise(TEAM, CODE_ONLY, steps)
    assert warning.path == "upgrades[0].any_of[0]"
    assert "counting heads alone" in warning.message
    assert "禁止传销条例" in warning.message


def test_a_head_count_set_of_indirect_recruits_warns_both_ways():
    steps = (UpgradeStep("C", "B", ({Metric.TEAM_VIPS: Decimal("30")},)),)
    assert paths_of(advise(TEAM, CODE_ONLY, steps)) == ["upgrades[0].any_of[0].team_vips", "upgrades[0].any_of[0]"]


def test_a_head_count_next_to_a_sales_condition_draws_no_warning():
    steps = (UpgradeStep("C", "B", ({Metric.PROMOTED_SALES: Decimal("3000"), Metric.DIRECT_VIPS: Decimal("5")},)),)
    assert advise(TEAM, CODE_ONLY, steps) == []


def test_a_sales_plan_paying_a_recruiter_as_much_as_the_seller_warns_at_that_entry():
    plan = build_plan({"model": "sales", "table": {"management": {"B": {"C": "50%"}}, "seller": {"C": "50%"}}}, LEVELS)
    [warning] = advise(plan, CODE_ONLY, SALES_UPGRADE)
    assert warning.path == "commission.table.management.B.C"
    assert "50%" in warning.message


def test_the_shipped_config_yaml_draws_no_warning():
    settings = load_settings(SHIPPED_CONFIG)
    assert settings.warnings() == []

"""Plan what-if: the pipeline's rules hold in a replay (trials, CPA, suspended people, the
window, joining late), several plans at once equal each plan alone, and the spread figures."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

import pytest

from core.commission import Kind
from core.plan import build_plan
from core.products import CourseKind, CourseTerms, EventType
from core.upgrade import Metric, UpgradeStep
from core.whatif import Event, Member, Upgrade, replay, starting_level
from core.whatif_stats import concentration, gini, lorenz, top_share
from tests.core.test_whatif import LEVELS, MEMBERS, SALES, TEAM, TERMS, XH, day, paid

PARTNER = build_plan(
    {"model": "sales", "partner_share": {"as_seller": "10%", "as_recruiter": "5%"}}, LEVELS, name="partner"
)
TRIAL = CourseTerms("TRIAL", CourseKind.TRIAL, Decimal("9.90"), Decimal("2.00"), bound_to="XH")
CPA = CourseTerms("CPA", CourseKind.CPA, Decimal("0.10"), bounty=Decimal("30.00"))
ALL = replace(TERMS, courses={"XH": XH, "TRIAL": TRIAL, "CPA": CPA})


def event(kind: str, order: str, sku: str, at, amount: str = "0", **more) -> Event:
    return Event(f"{kind}-{order}-{at.day}", EventType(kind), order, sku, at, amount=Decimal(amount), **more)


def earnings(result, plan: int = 1) -> dict[str, Decimal]:
    return result.plans[plan].earnings


def test_the_full_course_after_a_trial_goes_to_the_trials_seller_whatever_code_it_carries():
    history = [
        event("paid", "t-1", "TRIAL", day(0), "9.90", buyer="b-1", ref="C1"),
        event("paid", "o-1", "XH", day(9), "399.00", buyer="b-1", ref="C2"),
    ]
    result = replay(MEMBERS, history, [TEAM, SALES], ALL)
    # Sales: trial C1 80% × 2 = 1.60, B1 0.08; full course C1 144.00, B1 7.20.
    assert earnings(result) == {"c1": Decimal("145.60"), "b1": Decimal("7.28")}


def test_a_cpa_trial_pays_its_bounty_once_per_customer_and_a_refund_takes_it_back():
    history = [
        event("paid", "t-1", "CPA", day(0), "0.10", buyer="b-1", ref="C1"),
        event("qualified", "t-1", "CPA", day(1)),
        event("qualified", "t-1", "CPA", day(2)),  # the same customer again: nothing more
        event("refunded", "t-1", "CPA", day(3), "0.10", quantity=0),
    ]
    result = replay(MEMBERS, history, [SALES], ALL)
    # Bounty 30.00: C1 80% = 24.00, B1 fen(30 × 84%) − 24 = 1.20; all clawed back by the full refund.
    assert result.plans[0].earnings == {"c1": Decimal("0.00"), "b1": Decimal("0.00")}
    assert (result.pool, result.replayed["qualified"]) == (Decimal("0.00"), 2)


def test_a_refund_after_the_settlement_window_claws_back_as_much_as_one_inside_it():
    late = [paid("o-1", "XH", day(0), "b-1", ref="C1"), event("refunded", "o-1", "XH", day(30), "133.00", quantity=0)]
    result = replay(MEMBERS, late, [SALES], TERMS)
    assert result.plans[0].earnings == {"c1": Decimal("96.00"), "b1": Decimal("4.80")}


def test_a_partner_share_comes_out_of_the_margin_and_is_clawed_back_from_it():
    history = [
        paid("o-1", "XH", day(0), "b-1", ref="B1"),
        event("refunded", "o-1", "XH", day(1), "399.00", quantity=1),
        paid("o-2", "XH", day(2), "b-2", ref="B1"),
    ]
    outcome = replay(MEMBERS, history, [PARTNER], TERMS).plans[0]
    # o-2: B1 seller 85% × 180 = 153.00, A1 management 5%: 9.00; A1 partner as recruiter 5% × 60 = 3.00.
    assert outcome.earnings == {"b1": Decimal("153.00"), "a1": Decimal("12.00")}
    assert outcome.by_kind[Kind.PARTNER] == Decimal("3.00")
    assert (outcome.pool_kept, outcome.margin_kept) == (Decimal("18.00"), Decimal("57.00"))


def test_a_suspended_distributors_code_is_ignored_and_as_a_recruiter_they_get_nothing():
    members = [*MEMBERS[:1], Member("b1", "B1", "B", recruiter="a1", active=False), *MEMBERS[2:]]
    history = [paid("o-1", "XH", day(0), "b-1", ref="B1"), paid("o-2", "XH", day(1), "b-2", ref="C1")]
    result = replay(members, history, [SALES], TERMS)
    assert result.plans[0].earnings == {"c1": Decimal("144.00")}
    assert result.attributed == 1 and "b1" not in result.population


def test_buying_before_joining_is_a_buyers_purchase_and_after_it_a_self_purchase():
    members = [*MEMBERS[:2], Member("c1", "C1", "C", recruiter="b1", buyer_id="buyer-lina", joined_at=day(5))]
    history = [
        paid("o-1", "XH", day(0), "buyer-lina", ref="B1"),  # not yet a distributor: B1's customer now
        paid("o-2", "XH", day(6), "buyer-lina"),  # a distributor now: her own purchase
    ]
    result = replay(members, history, [SALES], TERMS)
    # o-1: B1 85% × 180 = 153.00, A1 9.00; o-2: C1 144.00, B1 7.20.
    assert result.plans[0].earnings == {"b1": Decimal("160.20"), "a1": Decimal("9.00"), "c1": Decimal("144.00")}


def test_events_before_the_window_only_warm_up_and_events_after_it_are_left_out():
    history = [
        paid("o-0", "XH", day(0), "b-1", ref="C2"),  # before: locks b-1 to C2, pays nothing
        paid("o-1", "XH", day(3), "b-1"),  # inside: C2 by the lock
        event("refunded", "o-0", "XH", day(4), "399.00", quantity=1),  # an order from before: nothing
        paid("o-2", "XH", day(8), "b-2", ref="C2"),  # after the window
    ]
    result = replay(MEMBERS, history, [SALES], TERMS, start=day(2), until=day(8))
    assert result.plans[0].earnings == {"c2": Decimal("144.00"), "b1": Decimal("7.20")}
    assert (result.warm_up, result.replayed, result.orders) == (1, {"paid": 1, "refunded": 1}, 1)


def test_a_recruit_becoming_a_vip_lifts_the_recruiter_in_the_same_sale():
    steps = (UpgradeStep("C", "B", ({Metric.PROMOTED_SALES: Decimal("399")}, {Metric.DIRECT_VIPS: Decimal("1")})),)
    terms = replace(TERMS, upgrades=steps)
    result = replay(MEMBERS, [paid("o-1", "XH", day(0), "b-1", ref="C3")], [SALES], terms)
    assert result.upgrades == (Upgrade(day(0), "c3", "C", "B"), Upgrade(day(0), "c1", "C", "B"))


def test_events_the_pipeline_would_refuse_are_skipped_and_counted_by_reason():
    history = [
        paid("o-1", "XH", day(0), "b-1", ref="C1"),
        paid("o-1", "XH", day(0), "b-1", ref="C1"),  # the same event again
        Event("again", EventType.PAID, "o-1", "XH", day(0), 1, Decimal("399.00"), "b-1"),  # the same order
        event("refunded", "o-1", "XH", day(1), "400.00"),
        event("refunded", "o-9", "XH", day(1), "1.00"),
        event("paid", "o-2", "NOPE", day(1), "1.00", buyer="b-2"),
    ]
    result = replay(MEMBERS, history, [SALES], TERMS)
    assert result.skipped == {
        "duplicate_event": 1,
        "duplicate_order": 1,
        "refund_exceeds_paid": 1,
        "unknown_order": 1,
        "unknown_sku": 1,
    }
    assert result.plans[0].earnings == {"c1": Decimal("144.00"), "b1": Decimal("7.20")}


def test_replaying_three_plans_at_once_gives_what_each_plan_gives_alone():
    rng = random.Random(8)
    buyers = [f"b-{i}" for i in range(12)] + ["buyer-lina"]
    codes = [None, None, "A1", "B1", "C1", "C2", "C3"]
    history: list[Event] = []
    for i in range(300):
        sku = rng.choice(["XH", "XH", "TRIAL", "CPA"])
        at = day(0) + i * (day(1) - day(0)) / 7
        buyer = rng.choice(buyers)
        history.append(
            event(
                "paid",
                f"o-{i}",
                sku,
                at,
                {"XH": "399.00", "TRIAL": "9.90", "CPA": "0.10"}[sku],
                buyer=buyer,
                ref=rng.choice(codes),
            )
        )
        if sku == "CPA" and rng.random() < 0.7:
            history.append(event("qualified", f"o-{i}", sku, at + (day(1) - day(0))))
        if rng.random() < 0.15:
            amount = rng.choice(["1.00", "0.10"]) if sku != "XH" else rng.choice(["133.00", "399.00", "50.00"])
            history.append(event("refunded", f"o-{i}", sku, at + (day(2) - day(0)) * rng.random(), amount, quantity=0))
    together = replay(MEMBERS, history, [TEAM, SALES, PARTNER], ALL)
    for index, plan in enumerate([TEAM, SALES, PARTNER]):
        alone = replay(MEMBERS, history, [plan], ALL)
        assert alone.plans[0] == together.plans[index]
        assert alone.upgrades == together.upgrades
        outcome = together.plans[index]
        assert outcome.paid + outcome.platform == together.pool + together.margin
        assert all(amount >= 0 for amount in outcome.earnings.values())


@pytest.mark.parametrize(("joined", "expected"), [(None, "B"), (day(-30), "B"), (day(0), "B"), (day(5), "C")])
def test_the_replay_starts_people_who_joined_inside_the_window_at_the_entry_level(joined, expected):
    assert starting_level("B", joined, day(0), LEVELS) == expected


def test_the_spread_figures_of_the_worked_example():
    values = [0, 0, 10000, 30000]
    assert (gini(values), top_share(values, Fraction(1, 10)), top_share(values, Fraction(1, 100))) == (
        Fraction(5, 8),
        Fraction(3, 4),
        Fraction(3, 4),
    )
    assert lorenz(values) == tuple((Fraction(k, 4), Fraction(y)) for k, y in enumerate([0, 0, 0, Fraction(1, 4), 1]))


def test_nobody_earning_anything_is_an_even_spread_with_everyone_below_the_threshold():
    spread = concentration({}, ["a", "b"], Decimal("100.00"))
    assert (spread.gini, spread.top_10, spread.nothing, spread.below) == (0, 0, 2, 2)
    assert spread.lorenz == ((0, 0), (Fraction(1, 2), Fraction(1, 2)), (1, 1))


def test_a_long_lorenz_curve_is_sampled_at_about_a_hundred_points_and_ends_at_one():
    curve = lorenz(list(range(10_000)))
    assert len(curve) == 101 and curve[0] == (0, 0) and curve[-1] == (1, 1)


def test_a_refund_of_units_earlier_refunds_already_returned_is_skipped_as_the_pipeline_refuses_it():
    two = [
        paid("o-1", "XH", day(0), "b-1", ref="C1", quantity=2),
        event("refunded", "o-1", "XH", day(1), "399.00", quantity=1),
        event("refunded", "o-1", "XH", day(2), "100.00", quantity=2),  # two more units: one is left
        event("refunded", "o-1", "XH", day(3), "399.00", quantity=1),  # the last unit, the rest of the money
    ]
    result = replay(MEMBERS, two, [SALES], TERMS)
    assert result.skipped == {"refund_quantity": 1}
    assert result.replayed == {"paid": 1, "refunded": 2}
    assert result.plans[0].earnings == {"c1": Decimal("0.00"), "b1": Decimal("0.00")}

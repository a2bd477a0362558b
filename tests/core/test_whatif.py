"""Plan what-if on a small history checked by hand: five distributors, seven orders, a refund of
a third of one, an upgrade — replayed under the team and the sales presets at once.

People (levels at the start): A1 (A) recruited B1 (B); B1 recruited C1 and C2 (C); C1 recruited
C3 (C), who never sells. C1 is also a shop customer (buyer-lina). C→B needs promoted sales ≥
700.00 and 2 customers. Fan lock: semi-lifetime, 7 days' protection.
Courses: XH 399.00 (pool 180.00, margin 60.00), KX 199.00 (pool 60.00, margin 30.00).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from core.attribution import FanLockRule, LockMode
from core.commission import Kind
from core.plan import build_plan
from core.products import CourseKind, CourseTerms, EventType
from core.upgrade import Metric, UpgradeStep
from core.whatif import Event, Member, Terms, Upgrade, replay
from core.whatif_stats import as_decimal, biggest_changes, concentration

LEVELS = ("C", "B", "A")
TEAM = build_plan({"model": "team"}, LEVELS, name="team")
SALES = build_plan({"model": "sales"}, LEVELS, name="sales")
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
XH = CourseTerms("XH", CourseKind.STANDARD, Decimal("399.00"), Decimal("180.00"), Decimal("60.00"))
KX = CourseTerms("KX", CourseKind.STANDARD, Decimal("199.00"), Decimal("60.00"), Decimal("30.00"))
TERMS = Terms(
    courses={"XH": XH, "KX": KX},
    fan_lock=FanLockRule(LockMode.SEMI_LIFETIME, protection_days=7),
    upgrades=(
        UpgradeStep("C", "B", ({Metric.PROMOTED_SALES: Decimal("700"), Metric.CUSTOMERS: Decimal("2")},)),
        UpgradeStep("B", "A", ({Metric.PROMOTED_SALES: Decimal("50000"), Metric.CUSTOMERS: Decimal("100")},)),
    ),
    vip_levels=frozenset({"B", "A"}),
)
MEMBERS = [
    Member("a1", "A1", "A"),
    Member("b1", "B1", "B", recruiter="a1"),
    Member("c1", "C1", "C", recruiter="b1", buyer_id="buyer-lina"),
    Member("c2", "C2", "C", recruiter="b1"),
    Member("c3", "C3", "C", recruiter="c1"),
]


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def paid(order: str, sku: str, at: datetime, buyer: str, ref: str | None = None, quantity: int = 1) -> Event:
    price = {"XH": Decimal("399.00"), "KX": Decimal("199.00")}[sku]
    return Event(f"p-{order}", EventType.PAID, order, sku, at, quantity, price * quantity, buyer, ref)


HISTORY = [
    paid("o-1", "XH", day(0), "b-1", ref="C2"),  # b-1 locked to C2; C2 (C) sells, B1 manages
    paid("o-2", "XH", day(1), "b-2", ref="C2"),  # C2 again: 798.00 to 2 customers → C2 becomes a B
    paid("o-3", "KX", day(2), "b-1"),  # no code: b-1 is C2's (locked); C2 now a B under a B: invite
    paid("o-4", "XH", day(3), "buyer-lina", ref="C2"),  # C1 buys for herself: self-purchase, B1 manages
    paid("o-5", "XH", day(4), "b-3", ref="B1", quantity=2),  # B1 sells two, A1 manages
    Event("r-o-1", EventType.REFUNDED, "o-1", "XH", day(5), 0, Decimal("133.00")),  # a third of o-1 back
    paid("o-6", "KX", day(9), "b-1", ref="C1"),  # protection (7 days) over: b-1 moves to C1
    paid("o-7", "KX", day(10), "b-9"),  # nobody's customer: the platform keeps pool and margin
]


def run():
    return replay(MEMBERS, HISTORY, [TEAM, SALES], TERMS)


def test_under_the_team_preset_each_distributor_earns_the_hand_computed_amount():
    team = run().plans[0]
    # o-1, o-2: C2 seller C 5/9 × 180 = 100.00; B1 management B over C: fen(180 × 9/9) − 100 = 80.00.
    # o-3: C2 (now B) seller 7/9 × 60 = 46.67; B1 invite B: fen(60 × 8/9) − 46.67 = 53.33 − 46.67 = 6.66.
    # o-4: C1 100.00, B1 80.00.  o-5: B1 seller B 7/9 × 360 = 280.00; A1 management: 360 − 280 = 80.00.
    # refund of 133.00 / 399.00 = 1/3 of o-1: C2 −fen(100/3) = −33.33, B1 −fen(80/3) = −26.67.
    # o-6: C1 5/9 × 60 = 33.33; B1 60 − 33.33 = 26.67.
    assert team.earnings == {
        "c2": Decimal("213.34"),  # 100 + 100 + 46.67 − 33.33
        "b1": Decimal("526.66"),  # 80 + 80 + 6.66 + 80 + 280 − 26.67 + 26.67
        "c1": Decimal("133.33"),  # 100 + 33.33
        "a1": Decimal("80.00"),
    }
    assert team.paid == Decimal("953.33")
    # Pool net: o-1 180 − 60 = 120, o-2 180, o-3 60, o-4 180, o-5 360, o-6 60, o-7 60 = 1020.00.
    # Kept: o-3 60 − 53.33 = 6.67, o-7 60.00 (the refund takes back 60.00 = 33.33 + 26.67: kept ±0).
    assert team.pool_kept == Decimal("66.67")
    # Margin net: 40 + 60 + 30 + 60 + 120 + 30 + 30 = 370.00, all kept (no partner share here).
    assert team.margin_kept == Decimal("370.00")
    assert team.platform == Decimal("436.67")


def test_under_the_sales_preset_each_distributor_earns_the_hand_computed_amount():
    sales = run().plans[1]
    # o-1, o-2: C2 80% × 180 = 144.00; B1 fen(180 × 84%) − 144 = 151.20 − 144 = 7.20; kept 28.80.
    # o-3: C2 (B) 85% × 60 = 51.00; B1 invite B: fen(60 × 87%) − 51 = 1.20; kept 7.80.
    # o-4: C1 144.00, B1 7.20, kept 28.80.  o-5: B1 85% × 360 = 306.00; A1 fen(360 × 90%) − 306 = 18.00; kept 36.
    # refund 1/3 of o-1: C2 −48.00, B1 −2.40; pool −60.00 so kept −60 + 50.40 = −9.60.
    # o-6: C1 80% × 60 = 48.00; B1 50.40 − 48 = 2.40; kept 9.60.  o-7: kept 60.00.
    assert sales.earnings == {
        "c2": Decimal("291.00"),  # 144 + 144 + 51 − 48
        "b1": Decimal("328.80"),  # 7.20 + 7.20 + 1.20 + 7.20 + 306 − 2.40 + 2.40
        "c1": Decimal("192.00"),  # 144 + 48
        "a1": Decimal("18.00"),
    }
    assert sales.paid == Decimal("829.80")
    assert sales.pool_kept == Decimal("190.20")  # 28.80 − 9.60 + 28.80 + 7.80 + 28.80 + 36 + 9.60 + 60
    assert sales.margin_kept == Decimal("370.00")


def test_paid_by_kind_and_by_the_level_earned_at_add_up_to_what_was_paid():
    team, sales = run().plans
    # Team: seller = C2 213.34 + C1 133.33 + B1 280 = 626.67; management = B1 240.00 + A1 80 = 320.00.
    assert team.by_kind == {
        Kind.SELLER: Decimal("626.67"),
        Kind.MANAGEMENT: Decimal("320.00"),
        Kind.INVITE: Decimal("6.66"),
        Kind.PARTNER: Decimal("0.00"),
    }
    # By level at the time: C = C2 (100 + 100 − 33.33) + C1 133.33 = 300.00; B = C2 46.67 + B1 526.66.
    assert team.by_level == {"C": Decimal("300.00"), "B": Decimal("573.33"), "A": Decimal("80.00")}
    # Sales: seller = 291 + 192 + 306 = 789.00; management = B1 (7.20 × 3 − 2.40 + 2.40) 21.60 + A1 18.
    assert sales.by_kind == {
        Kind.SELLER: Decimal("789.00"),
        Kind.MANAGEMENT: Decimal("39.60"),
        Kind.INVITE: Decimal("1.20"),
        Kind.PARTNER: Decimal("0.00"),
    }
    # C = C2 (144 + 144 − 48) + C1 192 = 432.00; B = C2 51 + B1 328.80 = 379.80; A = 18.00.
    assert sales.by_level == {"C": Decimal("432.00"), "B": Decimal("379.80"), "A": Decimal("18.00")}


def test_every_plan_hands_out_exactly_the_net_pool_and_margin_between_distributors_and_platform():
    result = run()
    assert (result.pool, result.margin) == (Decimal("1020.00"), Decimal("370.00"))
    for outcome in result.plans:
        assert outcome.paid + outcome.platform == result.pool + result.margin


def test_c2_becomes_a_b_after_her_second_sale_and_her_next_sale_pays_at_b():
    result = run()
    # After o-2: promoted 399 + 399 = 798.00 ≥ 700 and customers b-1, b-2 = 2.
    assert result.upgrades == (Upgrade(day(1), "c2", "C", "B"),)
    assert result.levels == {"a1": "A", "b1": "B", "c1": "C", "c2": "B", "c3": "C"}


def test_the_replay_counts_what_it_replayed_and_who_sold():
    result = run()
    assert result.replayed == {"paid": 7, "refunded": 1}
    assert (result.orders, result.attributed, result.skipped, result.warm_up) == (7, 6, {}, 0)
    assert set(result.population) == {"a1", "b1", "c1", "c2", "c3"}


def test_the_spread_counts_the_distributor_who_earned_nothing():
    team, sales = (concentration(p.earnings, run().population, Decimal("100.00")) for p in run().plans)
    # Team, in fen ascending: 0, 8000, 13333, 21334, 52666 (total 95333).
    # Σ i·x = 2·8000 + 3·13333 + 4·21334 + 5·52666 = 404665; Gini = 2·404665 / (5·95333) − 6/5.
    assert team.gini == Fraction(809330, 476665) - Fraction(6, 5)
    assert as_decimal(team.gini) == Decimal("0.498")
    assert team.top_1 == team.top_10 == Fraction(52666, 95333)  # ⌈5 × 10%⌉ = 1 person: B1
    # Sales: 0, 1800, 19200, 29100, 32880 (total 82980); Σ i·x = 3600 + 57600 + 116400 + 164400 = 342000.
    assert sales.gini == Fraction(684000, 414900) - Fraction(6, 5)
    assert as_decimal(sales.gini) == Decimal("0.449")
    assert sales.top_10 == Fraction(32880, 82980)
    # Nothing: C3. Below 100.00: C3 and A1 (80.00 in team, 18.00 in sales).
    assert (team.people, team.nothing, team.below) == (5, 1, 2)
    assert (sales.people, sales.nothing, sales.below) == (5, 1, 2)


def test_going_from_team_to_sales_b1_loses_most_and_c2_gains_most():
    result = run()
    team, sales = result.plans
    changes = biggest_changes(team.earnings, sales.earnings, result.population)
    assert [(c.person, c.delta) for c in changes] == [
        ("b1", Decimal("-197.86")),  # 328.80 − 526.66
        ("c2", Decimal("77.66")),  # 291.00 − 213.34
        ("a1", Decimal("-62.00")),  # 18.00 − 80.00
        ("c1", Decimal("58.67")),  # 192.00 − 133.33; C3 earns nothing either way and is left out
    ]


def test_a_stream_of_events_in_time_order_replays_exactly_as_the_list_does():
    in_order = sorted(HISTORY, key=lambda e: e.at)

    streamed = replay(MEMBERS, (e for e in in_order), [TEAM, SALES], TERMS)
    listed = replay(MEMBERS, HISTORY, [TEAM, SALES], TERMS)

    assert [(p.earnings, p.paid) for p in streamed.plans] == [(p.earnings, p.paid) for p in listed.plans]
    assert (streamed.replayed, streamed.upgrades) == (listed.replayed, listed.upgrades)


def test_a_stream_that_goes_back_in_time_is_refused_rather_than_replayed_in_the_wrong_order():
    backwards = sorted(HISTORY, key=lambda e: e.at, reverse=True)

    with pytest.raises(ValueError, match="not in time order"):
        replay(MEMBERS, iter(backwards), [TEAM, SALES], TERMS)

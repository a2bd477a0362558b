"""Rule 7, fan lock (锁粉): which distributor a sale belongs to, from the buyer's lock history
and the order's ref code."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.attribution import (
    Attribution,
    FanLockRule,
    Lock,
    LockMode,
    TrialTaken,
    Why,
    attribute,
    bound_seller,
    current_lock,
)

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2024, 3, 1, 10, 0, tzinfo=SH)

LIFETIME = FanLockRule(LockMode.LIFETIME)
SEMI = FanLockRule(LockMode.SEMI_LIFETIME, protection_days=7)
PERIOD = FanLockRule(LockMode.PERIOD)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def buy(rule: FanLockRule, history: list[Lock], now: datetime, **kwargs) -> tuple[Attribution, list[Lock]]:
    """Attribute one order and return the lock history as the shell would store it afterwards."""
    result = attribute(rule=rule, now=now, history=tuple(history), **kwargs)
    return result, [*history, result.new_lock] if result.new_lock else history


# --- no lock yet ------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [LIFETIME, SEMI, PERIOD])
def test_a_first_order_with_a_ref_code_locks_the_buyer_to_that_distributor(rule):
    result = attribute(rule=rule, now=T0, ref_distributor="li")
    assert result == Attribution("li", Why.NEW_LOCK, Lock("li", T0))


@pytest.mark.parametrize("rule", [LIFETIME, SEMI, PERIOD])
def test_an_order_with_no_lock_and_no_ref_has_no_seller_so_the_platform_keeps_the_pool(rule):
    result = attribute(rule=rule, now=T0)
    assert result.seller is None
    assert result.why is Why.NONE
    assert result.new_lock is None


# --- lifetime ---------------------------------------------------------------------------------


def test_lifetime_the_first_distributor_keeps_the_buyer_when_another_code_is_used_years_later():
    _, history = buy(LIFETIME, [], day(0), ref_distributor="li")
    result, history = buy(LIFETIME, history, day(800), ref_distributor="wang")
    assert (result.seller, result.why) == ("li", Why.LOCKED)
    assert history == [Lock("li", T0)]


def test_lifetime_an_order_without_a_ref_still_pays_the_locked_distributor():
    result = attribute(rule=LIFETIME, now=day(400), history=[Lock("li", T0)])
    assert (result.seller, result.why, result.new_lock) == ("li", Why.LOCKED, None)


# --- semi-lifetime ----------------------------------------------------------------------------


def test_semi_lifetime_another_distributors_code_moves_the_buyer_when_there_is_no_protection():
    rule = FanLockRule(LockMode.SEMI_LIFETIME)
    _, history = buy(rule, [], day(0), ref_distributor="li")
    result, history = buy(rule, history, day(0) + timedelta(minutes=5), ref_distributor="wang")
    assert (result.seller, result.why) == ("wang", Why.MOVED)
    assert current_lock(history, rule, day(1)) == Lock("wang", day(0) + timedelta(minutes=5))


def test_semi_lifetime_the_buyer_does_not_move_within_the_protection_days():
    result = attribute(rule=SEMI, now=day(7) - timedelta(seconds=1), history=[Lock("li", T0)], ref_distributor="wang")
    assert (result.seller, result.why, result.new_lock) == ("li", Why.LOCKED, None)


def test_semi_lifetime_the_buyer_moves_exactly_when_the_protection_ends():
    result = attribute(rule=SEMI, now=day(7), history=[Lock("li", T0)], ref_distributor="wang")
    assert (result.seller, result.why, result.new_lock) == ("wang", Why.MOVED, Lock("wang", day(7)))


def test_semi_lifetime_the_same_distributors_code_keeps_the_lock_without_renewing_it():
    result = attribute(rule=SEMI, now=day(20), history=[Lock("li", T0)], ref_distributor="li")
    assert (result.seller, result.why, result.new_lock) == ("li", Why.LOCKED, None)


def test_the_docstring_example_li_then_wang_with_seven_days_of_protection():
    # Locked to Li on 1 March; on 5 March an order with Wang's code still pays Li;
    # on 10 March it pays Wang and the buyer is now Wang's.
    _, history = buy(SEMI, [], datetime(2024, 3, 1, 9, 0, tzinfo=SH), ref_distributor="li")
    on_5th, history = buy(SEMI, history, datetime(2024, 3, 5, 9, 0, tzinfo=SH), ref_distributor="wang")
    assert on_5th.seller == "li"
    on_10th, history = buy(SEMI, history, datetime(2024, 3, 10, 9, 0, tzinfo=SH), ref_distributor="wang")
    assert on_10th.seller == "wang"
    after, _ = buy(SEMI, history, datetime(2024, 3, 12, 9, 0, tzinfo=SH))
    assert (after.seller, after.why) == ("wang", Why.LOCKED)


# --- period -----------------------------------------------------------------------------------


def test_the_period_lock_lasts_thirty_days_by_default():
    assert FanLockRule(LockMode.PERIOD).period_days == 30


def test_period_another_code_within_the_period_does_not_move_the_buyer():
    result = attribute(rule=PERIOD, now=day(29), history=[Lock("li", T0)], ref_distributor="wang")
    assert (result.seller, result.why) == ("li", Why.LOCKED)


def test_period_the_lock_lapses_after_the_period_and_an_order_without_a_ref_has_no_seller():
    assert current_lock([Lock("li", T0)], PERIOD, day(30) - timedelta(seconds=1)) == Lock("li", T0)
    result = attribute(rule=PERIOD, now=day(30), history=[Lock("li", T0)])
    assert (result.seller, result.why, result.new_lock) == (None, Why.NONE, None)


def test_period_after_the_lock_lapses_a_new_ref_locks_the_buyer_anew():
    _, history = buy(PERIOD, [Lock("li", T0)], day(31), ref_distributor="wang")
    assert current_lock(history, PERIOD, day(60)) == Lock("wang", day(31))
    assert current_lock(history, PERIOD, day(61)) is None


def test_period_a_configured_period_replaces_the_default():
    rule = FanLockRule(LockMode.PERIOD, period_days=10)
    assert attribute(rule=rule, now=day(9), history=[Lock("li", T0)]).seller == "li"
    assert attribute(rule=rule, now=day(10), history=[Lock("li", T0)]).seller is None


# --- self-purchase and bound trials -----------------------------------------------------------


@pytest.mark.parametrize("rule", [LIFETIME, SEMI, PERIOD])
def test_a_buyer_who_is_a_distributor_is_their_own_seller_and_is_locked_to_nobody(rule):
    result = attribute(rule=rule, now=day(3), history=[Lock("li", T0)], ref_distributor="wang", buyer_distributor="me")
    assert result == Attribution("me", Why.SELF_PURCHASE, None)


def test_a_distributor_buying_through_their_own_code_is_never_locked_to_themself():
    result = attribute(rule=SEMI, now=T0, ref_distributor="me", buyer_distributor="me")
    assert (result.seller, result.why, result.new_lock) == ("me", Why.SELF_PURCHASE, None)


def test_a_full_price_course_bound_to_a_trial_pays_the_trials_seller_even_with_another_ref():
    result = attribute(
        rule=SEMI, now=day(20), history=[Lock("wang", day(10))], ref_distributor="zhao", bound_distributor="li"
    )
    assert (result.seller, result.why, result.new_lock) == ("li", Why.BOUND_TRIAL, None)


def test_a_distributor_buying_the_full_course_bound_to_a_trial_someone_else_sold_them_is_their_own_seller():
    result = attribute(rule=SEMI, now=day(20), buyer_distributor="me", bound_distributor="li")
    assert (result.seller, result.why) == ("me", Why.SELF_PURCHASE)


@pytest.mark.parametrize(("period", "protection"), [(0, 0), (30, -1)])
def test_a_rule_with_a_period_below_one_day_or_negative_protection_is_refused(period, protection):
    with pytest.raises(ValueError, match="period_days"):
        FanLockRule(LockMode.PERIOD, period_days=period, protection_days=protection)


# --- which trial a bound course goes to -------------------------------------------------------


def test_the_bound_course_goes_to_the_seller_of_the_earliest_trial_that_still_stands():
    li = TrialTaken("li", day(1), Decimal("9.90"))
    wang = TrialTaken("wang", day(3), Decimal("9.90"))
    assert bound_seller([wang, li]) == "li"
    assert bound_seller([TrialTaken("li", day(1), Decimal("9.90"), Decimal("9.90")), wang]) == "wang"


def test_a_trial_nobody_sold_or_a_free_one_binds_nobody():
    assert bound_seller([TrialTaken(None, day(1), Decimal("9.90")), TrialTaken("li", day(2), Decimal("0.00"))]) is None
    assert bound_seller([]) is None


def test_a_trial_refunded_in_part_still_binds_its_seller():
    assert bound_seller([TrialTaken("li", day(1), Decimal("9.90"), Decimal("5.00"))]) == "li"

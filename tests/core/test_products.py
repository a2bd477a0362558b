"""What each kind of course makes payable, and on which event."""

from decimal import Decimal

import pytest

from core.products import CourseKind, CourseTerms, EventType, Payable, payable

STANDARD = CourseTerms(
    "math-48", CourseKind.STANDARD, Decimal("399.00"), pool=Decimal("180.00"), margin=Decimal("60.00")
)
CPA = CourseTerms("trial-cpa", CourseKind.CPA, Decimal("0.10"), bounty=Decimal("30.00"))
TRIAL = CourseTerms(
    "trial-1", CourseKind.TRIAL, Decimal("9.90"), pool=Decimal("5.00"), margin=Decimal("1.00"), bound_to="math-48"
)
CHECKIN = CourseTerms(
    "read-21", CourseKind.CHECKIN_CASHBACK, Decimal("299.00"), pool=Decimal("119.60"), margin=Decimal("20.00")
)


# --- standard ---------------------------------------------------------------------------------


def test_a_standard_course_pays_its_pool_and_margin_at_payment():
    assert payable(STANDARD, EventType.PAID, 1, new_customer=True) == Payable(Decimal("180.00"), Decimal("60.00"))


def test_a_standard_course_bought_three_times_over_pays_three_pools():
    assert payable(STANDARD, EventType.PAID, 3, new_customer=False) == Payable(Decimal("540.00"), Decimal("180.00"))


def test_a_standard_course_pays_nothing_on_a_qualifying_event():
    result = payable(STANDARD, EventType.QUALIFIED, 1, new_customer=True)
    assert (result.pool, result.margin, result.note) == (Decimal("0"), Decimal("0"), "only_cpa_courses_qualify")


def test_a_refund_makes_nothing_newly_payable():
    result = payable(STANDARD, EventType.REFUNDED, 1, new_customer=False)
    assert (result.pool, result.margin) == (Decimal("0"), Decimal("0"))


# --- cpa --------------------------------------------------------------------------------------


def test_a_cpa_course_pays_nothing_at_purchase_and_says_it_pays_when_qualified():
    result = payable(CPA, EventType.PAID, 1, new_customer=True)
    assert (result.pool, result.note) == (Decimal("0"), "cpa_pays_when_qualified")


def test_a_cpa_course_pays_the_bounty_when_a_new_customer_qualifies():
    assert payable(CPA, EventType.QUALIFIED, 1, new_customer=True) == Payable(Decimal("30.00"), Decimal("0"))


def test_a_cpa_customer_who_already_qualified_pays_nothing_the_second_time():
    result = payable(CPA, EventType.QUALIFIED, 1, new_customer=False)
    assert (result.pool, result.note) == (Decimal("0"), "customer_already_qualified")


def test_a_cpa_bounty_is_paid_once_per_customer_whatever_the_quantity():
    assert payable(CPA, EventType.QUALIFIED, 5, new_customer=True).pool == Decimal("30.00")


# --- trial ------------------------------------------------------------------------------------


def test_a_trial_pays_its_own_pool_at_payment():
    assert payable(TRIAL, EventType.PAID, 1, new_customer=True) == Payable(Decimal("5.00"), Decimal("1.00"))


def test_a_trial_with_no_pool_makes_nothing_payable():
    free = CourseTerms("trial-0", CourseKind.TRIAL, Decimal("0.10"), bound_to="math-48")
    assert payable(free, EventType.PAID, 1, new_customer=True).pool == Decimal("0")


# --- check-in cashback ------------------------------------------------------------------------


def test_a_checkin_course_pays_one_units_pool_to_a_new_customer():
    assert payable(CHECKIN, EventType.PAID, 1, new_customer=True) == Payable(Decimal("119.60"), Decimal("20.00"))


def test_a_checkin_course_bought_in_several_units_still_pays_only_one_units_pool():
    assert payable(CHECKIN, EventType.PAID, 4, new_customer=True) == Payable(Decimal("119.60"), Decimal("20.00"))


def test_a_checkin_course_pays_nothing_for_a_customer_who_bought_it_before():
    result = payable(CHECKIN, EventType.PAID, 1, new_customer=False)
    assert (result.pool, result.margin, result.note) == (Decimal("0"), Decimal("0"), "not_a_new_customer")


@pytest.mark.parametrize("new_customer", [True, False])
def test_the_buyers_cashback_after_check_ins_neither_pays_nor_claws_back_commission(new_customer):
    result = payable(CHECKIN, EventType.CHECKIN_COMPLETED, 1, new_customer=new_customer)
    assert (result.pool, result.margin, result.note) == (Decimal("0"), Decimal("0"), "cashback_claws_nothing_back")


# --- quantity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("course", [STANDARD, CPA, TRIAL, CHECKIN], ids=lambda c: c.kind.value)
@pytest.mark.parametrize("quantity", [0, -1])
def test_a_quantity_below_one_is_refused(course, quantity):
    with pytest.raises(ValueError, match="quantity must be at least 1"):
        payable(course, EventType.PAID, quantity, new_customer=True)

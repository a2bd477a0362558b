"""What each kind of course pays, and on which event.

- ``standard``: at ``paid``, pool × quantity (and the platform margin × quantity).
- ``trial`` (may be bound to a full-price course): at ``paid`` like standard (its pool is
  often 0); the buyer's later purchase of the bound course is attributed to the trial's seller
  (see :mod:`core.attribution`).
- ``cpa``: nothing at purchase; at ``qualified`` (e.g. trial attended) a fixed bounty, once
  per new customer. Example: bounty 30.00 → 30.00 is split by the plan; a second qualifying
  event for the same customer pays nothing.
- ``checkin_cashback`` (打卡0元学): at ``paid``, one unit's pool, for a new customer only; the
  buyer's cashback after the check-ins (``checkin_completed``) claws nothing back.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from core.money import ZERO


class CourseKind(StrEnum):
    STANDARD = "standard"
    TRIAL = "trial"
    CPA = "cpa"
    CHECKIN_CASHBACK = "checkin_cashback"


class EventType(StrEnum):
    PAID = "paid"
    REFUNDED = "refunded"
    QUALIFIED = "qualified"
    CHECKIN_COMPLETED = "checkin_completed"


@dataclass(frozen=True)
class CourseTerms:
    sku: str
    kind: CourseKind
    price: Decimal
    pool: Decimal = ZERO  # per unit
    margin: Decimal = ZERO  # the platform's own margin per unit
    bounty: Decimal = ZERO  # cpa: per qualified new customer
    bound_to: str | None = None  # trial: sku of the full-price course


@dataclass(frozen=True)
class Payable:
    """The pool and margin an event makes payable; zero with a ``note`` saying why."""

    pool: Decimal
    margin: Decimal
    note: str = ""


def payable(course: CourseTerms, event: EventType, quantity: int, *, new_customer: bool) -> Payable:
    """Pool and margin to split for ``event`` on ``course``. ``new_customer`` is whether this
    buyer has not yet bought (cpa: qualified for) this course before."""
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    nothing = Payable(ZERO, ZERO)
    if event is EventType.PAID:
        if course.kind is CourseKind.CPA:
            return Payable(ZERO, ZERO, "cpa_pays_when_qualified")
        if course.kind is CourseKind.CHECKIN_CASHBACK:
            if not new_customer:
                return Payable(ZERO, ZERO, "not_a_new_customer")
            return Payable(course.pool, course.margin)
        return Payable(course.pool * quantity, course.margin * quantity)
    if event is EventType.QUALIFIED:
        if course.kind is not CourseKind.CPA:
            return Payable(ZERO, ZERO, "only_cpa_courses_qualify")
        if not new_customer:
            return Payable(ZERO, ZERO, "customer_already_qualified")
        return Payable(course.bounty, ZERO)
    if event is EventType.CHECKIN_COMPLETED:
        return Payable(ZERO, ZERO, "cashback_claws_nothing_back")
    return nothing

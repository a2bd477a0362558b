"""The order sequence: what one order event does, decided once for the live pipeline and for
what-if replay alike.

An event goes through the same steps wherever it comes from — checks, then for a ``paid``
order the buyer's own account, the ref code and the bound trial (:func:`core.attribution.attribute`),
the order recorded with its seller, what it makes payable (:func:`core.products.payable`),
the booking to seller and recruiter at their levels of the moment, the upgrade cascade
(:func:`core.upgrade.climb`) and the stock; for a refund the checks against what is left of
the order, cumulatively, and the pro-rata claw-back; for a CPA qualification the bounty once
per customer. The rules are the core's; this module only orders the steps and reads and
writes through an :class:`OrderPort`:

- :class:`services.order_store.SqlOrders` — the live path: one unit of work, SQL;
- :class:`core.order_memory.MemoryOrders` — what-if: dictionaries, every plan's books at once.

Pure in the core's sense: it does no I/O of its own (the port does), reads no clock (an
event's time is ``event.at``) and imports nothing but core. Steps are coroutines because the
live port awaits its database; the in-memory port never waits, so :func:`run_now` drives a
step to its end without an event loop.

A refusal is raised as :class:`Refusal` before anything is written but the event's id (which
the caller's rollback, or the in-memory port's :meth:`~core.order_memory.MemoryOrders.forget`,
takes back) — with one exception, the stock, which the live port takes last, after the other
writes, so that the row every concurrent order contends for is locked for the shortest time;
its refusal rolls the unit of work back.

Worked example (sales preset): an order of 399.00 with pool 180.00 sold through a C whose
recruiter is a B → C 144.00, B 7.20. A refund of 100.00, then one of 299.00 → both pass (399.00
in all); a third of 1.00 is refused ``refund_exceeds_paid``, however small, because the
refunds before it count: the check is cumulative, in the pipeline and in a replay. So is the
quantity: two units bought, one returned, two more → ``refund_quantity``.
"""

from __future__ import annotations

from collections.abc import Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from core.attribution import Attribution, FanLockRule, Lock, TrialTaken, Why, attribute, bound_seller
from core.commission import Payout
from core.ledger import DEFAULT_REFUND_WINDOW_DAYS
from core.ledger import LedgerLine as CoreLine
from core.money import ZERO
from core.products import CourseKind, CourseTerms, EventType, payable
from core.upgrade import Climber, LevelUp, Metric, UpgradeStep, climb, metrics_needed

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Event:
    """One order event (the webhook's fields that decide what it does)."""

    event_id: str
    type: EventType
    order_id: str
    sku: str
    at: datetime
    quantity: int = 1
    amount: Decimal = ZERO
    buyer: str | None = None
    ref: str | None = None


@dataclass(frozen=True)
class Terms:
    """The platform's rules an event runs under, apart from the commission plan(s)."""

    courses: Mapping[str, CourseTerms]
    fan_lock: FanLockRule = field(default_factory=FanLockRule)
    upgrades: tuple[UpgradeStep, ...] = ()
    vip_levels: frozenset[str] = frozenset()
    refund_window_days: int = DEFAULT_REFUND_WINDOW_DAYS
    bound_targets: frozenset[str] = field(init=False, repr=False, compare=False)  # courses a trial is bound to
    needed: Mapping[str, frozenset[Metric]] = field(init=False, repr=False, compare=False)  # level → metrics

    def __post_init__(self) -> None:
        # Computed once, not for every paid order: the bound courses, and the upgrade metrics
        # each level's next steps look at (a level no step starts from needs none).
        targets = frozenset(c.bound_to for c in self.courses.values() if c.bound_to)
        levels = {s.from_level for s in self.upgrades} | {s.to_level for s in self.upgrades}
        object.__setattr__(self, "bound_targets", targets)
        object.__setattr__(self, "needed", {level: metrics_needed(level, self.upgrades) for level in levels})


@dataclass(frozen=True, slots=True)
class Person:
    """A distributor as the sequence sees them at the event."""

    id: str
    level: str
    recruiter: str | None = None
    active: bool = True


@dataclass(slots=True)
class OrderState:
    """A paid order as the sequence sees it: what was bought, by whom, sold by whom, and how
    much of it has come back."""

    id: str
    sku: str
    buyer: str
    amount: Decimal
    quantity: int
    paid_at: datetime
    seller: str | None = None
    own: bool = False  # a self-purchase
    refunded: Decimal = ZERO
    refunded_quantity: int = 0


@dataclass(frozen=True, slots=True)
class PaidFacts:
    """What a paid order's attribution needs to know of its buyer, read in one step.

    ``locks`` may be left empty when ``own`` is an active distributor (they are not
    consulted then); ``trials`` when the course is no bound target. ``order_taken``: the order
    id is known already — a port whose store refuses a second order by itself (a primary key)
    may always say False."""

    own: Person | None  # the buyer's own distributor account, as of the event
    ref: Person | None  # the owner of the order's ref code
    locks: Sequence[Lock] = ()
    trials: Sequence[TrialTaken] = ()
    bought_before: bool = False  # this course, by this buyer
    order_taken: bool = False


class RefusalKind(StrEnum):
    """How a refusal is answered: the live path maps each to its service error."""

    INVALID = "invalid"  # a field of the event is wrong
    REFUSED = "refused"  # it cannot be done (stock, money)
    CONFLICT = "conflict"  # it contradicts what happened to the order
    DUPLICATE = "duplicate"  # seen before: nothing changes


class Refusal(Exception):
    """The event is refused: ``code`` names why (what-if counts skipped events by it),
    ``field`` the event's field at fault when there is one."""

    def __init__(self, kind: RefusalKind, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.kind, self.code, self.message, self.field = kind, code, message, field


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an accepted event did."""

    order: OrderState | None
    seller: Person | None = None
    why: Why | None = None
    payouts: tuple[Payout, ...] = ()  # as the port booked them (the live plan's; none in a replay)
    clawed_back: tuple[CoreLine[Any], ...] = ()
    stock_left: int | None = None
    note: str = ""


class OrderPort(Protocol):
    """Where the sequence reads and writes. Reads first, then writes; each method takes the
    event it serves, so a port may gather what several events need in one round trip."""

    async def record(self, events: Sequence[Event]) -> Collection[str]:
        """Record the events' ids; returns those that were new (the others were recorded
        before: replayed deliveries)."""

    async def paid_facts(self, event: Event, *, trials: bool) -> PaidFacts:
        """The buyer's accounts, locks, bound trials (when ``trials``) and earlier purchases."""

    async def short_of_stock(self, event: Event) -> int | None:
        """The stock left of ``event.sku`` when it is too little for ``event.quantity`` (and
        the order is not a replay); None otherwise, or when stock is not kept. A cheap early
        look: :meth:`finish_paid` still takes the stock exactly."""

    async def order(self, event: Event) -> OrderState | None:
        """The paid order ``event.order_id``, held against concurrent events of the same order."""

    async def people(self, ids: Collection[str]) -> Mapping[str, Person]:
        """The distributors of ``ids`` that exist, with their levels now."""

    async def metrics(self, person: Person, needed: frozenset[Metric], at: datetime) -> Mapping[Metric, Decimal]:
        """``person``'s upgrade metrics of ``needed`` (:mod:`core.upgrade`), as of ``at``."""

    async def qualified_before(self, order: OrderState) -> bool:
        """The order's buyer has qualified for its course before."""

    async def add_order(self, event: Event, order: OrderState, attribution: Attribution, facts: PaidFacts) -> None:
        """Write the new order (and the attribution's new lock)."""

    async def book(
        self,
        event: Event,
        order: OrderState,
        seller: Person | None,
        recruiter: Person | None,
        pool: Decimal,
        margin: Decimal,
    ) -> tuple[Payout, ...]:
        """Split ``pool`` and ``margin`` between ``seller`` and ``recruiter`` at their levels
        (:func:`core.commission.split_sale`, under the port's plan or plans) and write it."""

    async def level_up(self, person: Person, up: LevelUp, at: datetime) -> None:
        """``person`` climbs to ``up.to_level``."""

    async def finish_paid(
        self, event: Event, order: OrderState, seller: Person | None, own: Person | None
    ) -> int | None:
        """The paid order's last writes: the stock (a :class:`Refusal` ``out_of_stock`` when
        too little is left) and what it causes beyond money. Returns the stock left (None:
        unlimited or not kept)."""

    async def refund(self, event: Event, order: OrderState) -> tuple[CoreLine[Any], ...]:
        """Claw back pro rata (:func:`core.ledger.claw_back`), count the refund on the order,
        return the units to stock; the claw-back lines."""

    async def qualify(self, event: Event, order: OrderState) -> None:
        """Mark the order qualified (the first time counts)."""

    async def checkin(self, event: Event, order: OrderState) -> None:
        """Mark the order's check-ins completed (the first time counts)."""


def out_of_stock(sku: str, left: int, quantity: int) -> Refusal:
    """The refusal of an order larger than the stock: ``only 0 left of XH-MATH-S1, 1 ordered``."""
    return Refusal(RefusalKind.REFUSED, "out_of_stock", f"only {left} left of {sku}, {quantity} ordered")


def run_now(step: Coroutine[Any, Any, T]) -> T:
    """Run a step over a port that never waits (the in-memory one) to its end, without an
    event loop: its first resumption finishes it."""
    try:
        step.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    step.close()
    raise RuntimeError("the port waited for something: run this step in an event loop")


async def apply(port: OrderPort, event: Event, terms: Terms) -> Outcome:
    """Run ``event`` through the sequence; raises :class:`Refusal` when it is refused."""
    course = terms.courses.get(event.sku)
    if course is None:
        raise Refusal(RefusalKind.INVALID, "unknown_sku", f"unknown course sku {event.sku!r}", "course_sku")
    if event.event_id not in await port.record((event,)):
        raise Refusal(RefusalKind.DUPLICATE, "duplicate_event", f"event {event.event_id} was recorded before")
    if event.type is EventType.PAID:
        return await _paid(port, event, course, terms)
    order = await port.order(event)
    if order is None:
        reason = f"no paid order {event.order_id!r} to apply a {event.type} event to"
        raise Refusal(RefusalKind.INVALID, "unknown_order", reason, "order_id")
    if order.sku != course.sku:
        reason = f"order {order.id} is for {order.sku}, not {course.sku}"
        raise Refusal(RefusalKind.INVALID, "sku_mismatch", reason, "course_sku")
    if event.type is EventType.REFUNDED:
        return await _refunded(port, event, order)
    if event.type is EventType.QUALIFIED:
        return await _qualified(port, event, course, order, terms)
    if course.kind is not CourseKind.CHECKIN_CASHBACK:
        raise Refusal(RefusalKind.INVALID, "not_checkin", f"{course.sku} is not a check-in cashback course", "type")
    await port.checkin(event, order)
    return Outcome(order, note="cashback_claws_nothing_back")


async def _paid(port: OrderPort, event: Event, course: CourseTerms, terms: Terms) -> Outcome:
    if event.buyer is None or event.quantity < 1:
        raise Refusal(RefusalKind.INVALID, "malformed", "a paid event needs a buyer and at least one unit", "buyer")
    left = await port.short_of_stock(event)
    if left is not None:  # refused before anything is read or booked: a refusal costs less than a sale
        raise out_of_stock(event.sku, left, event.quantity)
    facts = await port.paid_facts(event, trials=course.sku in terms.bound_targets)
    if facts.order_taken:
        raise Refusal(RefusalKind.DUPLICATE, "duplicate_order", f"order {event.order_id} was recorded before")
    own = facts.own if facts.own is not None and facts.own.active else None
    ref = facts.ref if facts.ref is not None and facts.ref.active else None
    attribution = attribute(
        rule=terms.fan_lock,
        now=event.at,
        history=facts.locks if own is None else (),
        ref_distributor=ref.id if ref is not None else None,
        buyer_distributor=own.id if own is not None else None,
        bound_distributor=bound_seller(facts.trials) if course.sku in terms.bound_targets else None,
    )
    seller = (await port.people((attribution.seller,))).get(attribution.seller) if attribution.seller else None
    if seller is not None and not seller.active:
        seller = None  # an inactive seller sells nothing: the platform keeps the share
    order = OrderState(
        id=event.order_id,
        sku=course.sku,
        buyer=event.buyer,
        amount=event.amount,
        quantity=event.quantity,
        paid_at=event.at,
        seller=seller.id if seller is not None else None,
        own=attribution.why is Why.SELF_PURCHASE,
    )
    await port.add_order(event, order, attribution, facts)
    owed = payable(course, EventType.PAID, event.quantity, new_customer=not facts.bought_before)
    payouts = await _book(port, event, order, seller, owed.pool, owed.margin)
    if seller is not None:
        await _climb(port, seller, event.at, terms)
    stock = await port.finish_paid(event, order, seller, own)
    return Outcome(order, seller, attribution.why, payouts, stock_left=stock)


async def _book(
    port: OrderPort, event: Event, order: OrderState, seller: Person | None, pool: Decimal, margin: Decimal
) -> tuple[Payout, ...]:
    """Book for the seller and their direct recruiter, each only while active, at their levels
    now. Nothing payable: nothing to book, nobody to look up."""
    if pool == 0 and margin == 0:
        return ()
    recruiter = None
    if seller is not None and seller.recruiter is not None:
        recruiter = (await port.people((seller.recruiter,))).get(seller.recruiter)
        if recruiter is not None and not recruiter.active:
            recruiter = None
    return await port.book(event, order, seller, recruiter, pool, margin)


async def _climb(port: OrderPort, seller: Person, at: datetime, terms: Terms) -> None:
    """Climb every step the seller now meets; a level-up changes their recruiter's VIP counts,
    so the recruiter is looked at next, and so on (:func:`core.upgrade.climb`). Each one's
    metrics are read before any level changes; the chain grows only while its top climbs."""
    people = [seller]
    chain = [await _climber(port, seller, at, terms)]
    while True:
        ups = climb(chain, terms.upgrades, terms.vip_levels)
        top = people[-1]
        if len(ups) < len(chain) or top.recruiter is None or top.recruiter in {p.id for p in people}:
            break
        above = (await port.people((top.recruiter,))).get(top.recruiter)
        if above is None:
            break
        people.append(above)
        chain.append(await _climber(port, above, at, terms))
    for person, up in zip(people, ups, strict=False):
        await port.level_up(person, up, at)


async def _climber(port: OrderPort, person: Person, at: datetime, terms: Terms) -> Climber:
    needed = terms.needed.get(person.level, frozenset())
    return Climber(person.id, person.level, await port.metrics(person, needed, at) if needed else {})


async def _refunded(port: OrderPort, event: Event, order: OrderState) -> Outcome:
    """Checked against what is left of the order after every earlier refund, in money and in units."""
    if event.amount <= 0 or order.refunded + event.amount > order.amount:
        raise Refusal(
            RefusalKind.REFUSED,
            "refund_exceeds_paid",
            f"refund {event.amount} would exceed what is left of {order.amount} paid"
            f" ({order.amount - order.refunded} after earlier refunds)",
        )
    if order.refunded_quantity + event.quantity > order.quantity:
        raise Refusal(
            RefusalKind.INVALID,
            "refund_quantity",
            f"order {order.id} has {order.quantity} units, {order.refunded_quantity} already returned;"
            f" {event.quantity} more cannot be",
            "quantity",
        )
    lines = await port.refund(event, order)
    return Outcome(order, clawed_back=lines)


async def _qualified(port: OrderPort, event: Event, course: CourseTerms, order: OrderState, terms: Terms) -> Outcome:
    if course.kind is not CourseKind.CPA:
        raise Refusal(
            RefusalKind.INVALID, "not_cpa", f"{course.sku} is not a CPA course; only CPA orders qualify", "type"
        )
    if order.refunded >= order.amount > 0:
        raise Refusal(RefusalKind.CONFLICT, "refunded", f"order {order.id} was refunded")
    new_customer = not await port.qualified_before(order)
    await port.qualify(event, order)
    owed = payable(course, EventType.QUALIFIED, 1, new_customer=new_customer)
    seller = (await port.people((order.seller,))).get(order.seller) if order.seller else None
    if seller is not None and not seller.active:
        seller = None
    payouts = await _book(port, event, order, seller, owed.pool, owed.margin)
    return Outcome(order, seller, payouts=payouts, note=owed.note)

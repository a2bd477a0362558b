"""Plan what-if: replay real order events under several commission plans at once.

Pure: plain data in (members, events, course terms, plans), plain results out; nothing is
written anywhere. Every rule is the live pipeline's, through the same core functions:
attribution (:func:`core.attribution.attribute`, :func:`~core.attribution.bound_seller`),
what an event makes payable (:func:`core.products.payable`), the split
(:func:`core.commission.split_sale`), claw-backs (:func:`core.ledger.claw_back`, pro rata) and
the upgrade cascade (:func:`core.upgrade.climb`, metrics as :mod:`core.upgrade` defines them).

What a replay takes as given, and why:

- Who sold, and every level, are the same under every plan: attribution looks at codes, locks
  and trials, and no upgrade condition counts commission. So each event is attributed once and
  each plan's split is applied to it — the same as replaying every plan alone, N times faster.
- ``Member.level`` is the level at the start of the replay (the caller decides it, see
  :func:`starting_level`); upgrades then happen as the pipeline would make them.
- A member's own purchases are self-purchases only from ``joined_at`` on (before, they bought
  as a plain buyer), and recruits count in upgrade metrics from their ``joined_at``. A ref code
  or a lock on an order counts whenever it appears: the order shows its owner existed.
- A member who is not ``active`` takes no part, as in the pipeline: their code and their own
  purchases are ignored, a sale attributed to them (lock, bound trial) pays nobody, and as a
  recruiter they get nothing.
- Events before ``start`` only warm up: they make locks, trials, "bought before" and upgrade
  metrics, but pay nothing and change no level. Money belongs to orders *paid* in the window
  [start, until); their later events (refunds, qualification) count with them.
- Events the pipeline would refuse (unknown sku or order, a refund beyond what was paid, a
  repeated event or order id) are skipped and counted by reason.

Worked example (sales preset, pool 180.00, margin 60.00): a C recruited by a B sells one unit
→ C 144.00, B 7.20, platform keeps 28.80 of the pool and the 60.00 margin. A third of the order
is refunded → C −48.00, B −2.40; pool net 120.00 = 96.00 + 4.80 + 19.20 kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.attribution import FanLockRule, Lock, TrialTaken, Why, attribute, bound_seller
from core.ledger import DEFAULT_REFUND_WINDOW_DAYS
from core.money import ZERO
from core.plan import CommissionPlan
from core.products import CourseKind, CourseTerms, EventType, payable
from core.upgrade import Climber, Metric, UpgradeStep, climb, metrics_needed
from core.whatif_books import Books, OrderMoney, PlanOutcome


@dataclass(frozen=True, slots=True)
class Member:
    """A distributor as the replay sees them."""

    id: str
    code: str
    level: str  # at the start of the replay
    recruiter: str | None = None
    buyer_id: str | None = None
    joined_at: datetime | None = None  # None: long before anything replayed
    active: bool = True
    name: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """One order event (the webhook's fields that matter here)."""

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
    """The platform's rules a replay runs under, apart from the plans."""

    courses: Mapping[str, CourseTerms]
    fan_lock: FanLockRule = field(default_factory=FanLockRule)
    upgrades: tuple[UpgradeStep, ...] = ()
    vip_levels: frozenset[str] = frozenset()
    refund_window_days: int = DEFAULT_REFUND_WINDOW_DAYS


@dataclass(frozen=True)
class Upgrade:
    at: datetime
    person: str
    from_level: str
    to_level: str


@dataclass(frozen=True)
class Replay:
    start: datetime | None
    until: datetime | None
    pool: Decimal  # of the window's orders, net of refunds
    margin: Decimal
    replayed: Mapping[str, int]  # events in the window by type
    warm_up: int  # events before the window
    skipped: Mapping[str, int]  # reason → events
    orders: int  # paid in the window
    attributed: int  # of those, with a seller
    upgrades: tuple[Upgrade, ...]
    levels: Mapping[str, str]  # every member's level at the end
    population: tuple[str, ...]  # active members who had joined by the end, and anyone who earned
    plans: tuple[PlanOutcome, ...]


def starting_level(current: str, joined_at: datetime | None, start: datetime | None, levels: Sequence[str]) -> str:
    """The level a replay starts a member at: the entry (lowest) level when they joined after
    ``start``, their current level otherwise (their level history is not kept).

    Example: start 1 March; joined 5 March, now B → C; joined in January, now B → B."""
    if start is not None and joined_at is not None and joined_at > start:
        return levels[0]
    return current


def replay(
    members: Sequence[Member],
    events: Iterable[Event],
    plans: Sequence[CommissionPlan],
    terms: Terms,
    *,
    start: datetime | None = None,
    until: datetime | None = None,
    on_progress: Callable[[int], object] | None = None,
) -> Replay:
    """Replay ``events`` under every plan; see the module docstring. A sequence (a list) is
    stable-sorted by time first; any other iterable — a stream read from the database in
    replay order — is taken as it comes and never held whole, so memory grows with the replay's
    state, not with the events: an event earlier than the one before it raises ValueError.
    ``on_progress(n)`` is told every few thousand events how many more were done."""
    return _Replayer(members, plans, terms).run(events, start, until, on_progress)


PROGRESS_EVERY = 4096


def _in_order(events: Iterable[Event]) -> Iterator[Event]:
    """A stream of events, checked to come in time order (what sorting a list would give)."""
    last: datetime | None = None
    for event in events:
        if last is not None and event.at < last:
            raise ValueError(f"event {event.event_id} at {event.at} comes after one at {last}: not in time order")
        last = event.at
        yield event
_TEAM = frozenset({Metric.TEAM_SIZE, Metric.TEAM_VIPS})
_HEADS = frozenset({Metric.DIRECT_INVITES, Metric.DIRECT_VIPS}) | _TEAM


class _Order:
    __slots__ = ("amount", "buyer", "counted", "money", "own", "paid_at", "quantity", "refunded", "seller", "sku")

    def __init__(self, event: Event, seller: str | None, own: bool, counted: bool):
        self.sku, self.buyer, self.paid_at = event.sku, event.buyer, event.at
        self.amount, self.quantity, self.refunded = event.amount, event.quantity, ZERO
        self.seller, self.own, self.counted = seller, own, counted  # own: a self-purchase
        self.money = OrderMoney()


class _Replayer:
    def __init__(self, members: Sequence[Member], plans: Sequence[CommissionPlan], terms: Terms):
        self.terms = terms
        self.members = {m.id: m for m in members}
        self.by_code = {m.code.strip().upper(): m for m in members}
        self.by_buyer = {m.buyer_id: m for m in members if m.buyer_id}
        self.recruits: dict[str, list[Member]] = defaultdict(list)
        for m in members:
            if m.recruiter is not None:
                self.recruits[m.recruiter].append(m)
        self.levels = {m.id: m.level for m in members}
        self.bound_targets = frozenset(c.bound_to for c in terms.courses.values() if c.bound_to)
        self.books = Books(plans, terms.refund_window_days)
        self.needed: dict[str, frozenset[Metric]] = {}
        self.orders: dict[str, _Order] = {}
        self.event_ids: set[str] = set()
        self.locks: dict[str, list[Lock]] = {}
        self.trials: dict[tuple[str, str], list[_Order]] = defaultdict(list)  # (buyer, full course) → trials
        self.bought: set[tuple[str, str]] = set()
        self.qualified: set[tuple[str | None, str]] = set()
        self.promoted: defaultdict[str, Decimal] = defaultdict(lambda: ZERO)
        self.own: defaultdict[str, Decimal] = defaultdict(lambda: ZERO)
        self.customers: defaultdict[str, set[str]] = defaultdict(set)
        self.upgrades: list[Upgrade] = []
        self.replayed: defaultdict[str, int] = defaultdict(int)
        self.skipped: defaultdict[str, int] = defaultdict(int)
        self.warm_up = self.counted_orders = self.attributed = 0

    def run(
        self,
        events: Iterable[Event],
        start: datetime | None,
        until: datetime | None,
        on_progress: Callable[[int], object] | None,
    ) -> Replay:
        handlers = {
            EventType.PAID: self._paid,
            EventType.REFUNDED: self._refunded,
            EventType.QUALIFIED: self._qualified,
            EventType.CHECKIN_COMPLETED: self._checkin_completed,
        }
        done = 0
        ordered = sorted(events, key=lambda e: e.at) if isinstance(events, Sequence) else _in_order(events)
        for event in ordered:
            done += 1
            if on_progress is not None and done % PROGRESS_EVERY == 0:
                on_progress(PROGRESS_EVERY)
            if until is not None and event.at >= until:
                continue
            if event.event_id in self.event_ids:
                self.skipped["duplicate_event"] += 1
                continue
            counted = start is None or event.at >= start
            reason = handlers[event.type](event, counted)
            if reason:  # refused, as the pipeline refuses it: nothing recorded, not even the id
                self.skipped[reason] += 1
                continue
            self.event_ids.add(event.event_id)
            if counted:
                self.replayed[event.type.value] += 1
            else:
                self.warm_up += 1
        if on_progress is not None and done % PROGRESS_EVERY:
            on_progress(done % PROGRESS_EVERY)
        return self._result(start, until)

    # --- the four events ----------------------------------------------------------------------

    def _paid(self, event: Event, counted: bool) -> str:
        course = self.terms.courses.get(event.sku)
        if course is None:
            return "unknown_sku"
        if event.order_id in self.orders:
            return "duplicate_order"
        if event.buyer is None or event.quantity < 1:
            return "malformed"
        own = self.by_buyer.get(event.buyer)
        if own is not None and not (own.active and _joined(own, event.at)):
            own = None
        ref = self.by_code.get(event.ref.strip().upper()) if event.ref else None
        bound = None
        if event.sku in self.bound_targets:
            trials = self.trials.get((event.buyer, event.sku), ())
            bound = bound_seller(TrialTaken(t.seller, t.paid_at, t.amount, t.refunded) for t in trials)
        attribution = attribute(
            rule=self.terms.fan_lock,
            now=event.at,
            history=self.locks.get(event.buyer, ()) if own is None else (),
            ref_distributor=ref.id if ref is not None and ref.active else None,
            buyer_distributor=own.id if own is not None else None,
            bound_distributor=bound,
        )
        if attribution.new_lock is not None:
            self.locks.setdefault(event.buyer, []).append(attribution.new_lock)
        seller = self.members.get(attribution.seller) if attribution.seller else None
        if seller is not None and not seller.active:
            seller = None
        order = _Order(event, seller.id if seller else None, attribution.why is Why.SELF_PURCHASE, counted)
        self.orders[event.order_id] = order
        bought_before = (event.buyer, event.sku) in self.bought
        self.bought.add((event.buyer, event.sku))
        if course.kind is CourseKind.TRIAL and course.bound_to:
            self.trials[(event.buyer, course.bound_to)].append(order)
        if counted:
            self.counted_orders += 1
            self.attributed += seller is not None
            owed = payable(course, EventType.PAID, event.quantity, new_customer=not bought_before)
            self._book(order, seller, owed.pool, owed.margin, event.at)
        if seller is not None:
            if order.own:
                self.own[seller.id] += event.amount
            else:
                self.promoted[seller.id] += event.amount
                self.customers[seller.id].add(event.buyer)
            if counted:
                for up in climb(self._chain(seller.id, event.at), self.terms.upgrades, self.terms.vip_levels):
                    self.levels[up.person] = up.to_level
                    self.upgrades.append(Upgrade(event.at, up.person, up.from_level, up.to_level))
        return ""

    def _refunded(self, event: Event, counted: bool) -> str:
        order = self.orders.get(event.order_id)
        if order is None:
            return "unknown_order"
        if order.sku != event.sku:
            return "sku_mismatch"
        if event.amount <= 0 or order.refunded + event.amount > order.amount:
            return "refund_exceeds_paid"
        if event.quantity > order.quantity:
            return "refund_quantity"
        before = order.refunded
        order.refunded += event.amount
        if order.seller is not None:
            (self.own if order.own else self.promoted)[order.seller] -= event.amount
        if order.counted:
            self.books.claw_back(order.money, order.amount, before, event.amount, event.at)
        return ""

    def _qualified(self, event: Event, counted: bool) -> str:
        order = self.orders.get(event.order_id)
        if order is None or order.sku != event.sku:
            return "unknown_order"
        course = self.terms.courses[order.sku]
        if course.kind is not CourseKind.CPA:
            return "not_cpa"
        if order.refunded >= order.amount > 0:
            return "refunded"
        new_customer = (order.buyer, order.sku) not in self.qualified
        self.qualified.add((order.buyer, order.sku))
        if order.counted:
            owed = payable(course, EventType.QUALIFIED, 1, new_customer=new_customer)
            seller = self.members.get(order.seller) if order.seller else None
            self._book(order, seller, owed.pool, owed.margin, event.at)
        return ""

    def _checkin_completed(self, event: Event, counted: bool) -> str:
        order = self.orders.get(event.order_id)
        if order is None or order.sku != event.sku:
            return "unknown_order"
        if self.terms.courses[order.sku].kind is not CourseKind.CHECKIN_CASHBACK:
            return "not_checkin"
        return ""  # the cashback claws nothing back

    # --- money ----------------------------------------------------------------------------------

    def _book(self, order: _Order, seller: Member | None, pool: Decimal, margin: Decimal, at: datetime) -> None:
        party = recruiter = None
        if seller is not None:
            party = (seller.id, self.levels[seller.id])
            above = self.members.get(seller.recruiter) if seller.recruiter else None
            if above is not None and above.active:
                recruiter = (above.id, self.levels[above.id])
        self.books.book(order.money, party, recruiter, pool, margin, at)

    # --- upgrades -------------------------------------------------------------------------------

    def _chain(self, first: str, at: datetime) -> Iterator[Climber]:
        """The seller and their recruiters upwards, each with their metrics now (lazily)."""
        person: str | None = first
        while person is not None and person in self.members:
            level = self.levels[person]
            needed = self.needed.get(level)
            if needed is None:
                needed = self.needed[level] = metrics_needed(level, self.terms.upgrades)
            yield Climber(person, level, self._metrics(person, needed, at) if needed else {})
            person = self.members[person].recruiter

    def _metrics(self, person: str, needed: frozenset[Metric], at: datetime) -> dict[Metric, Decimal]:
        """The metrics of core.upgrade, as the pipeline's query computes them, for ``needed``."""
        metrics: dict[Metric, Decimal] = {}
        if Metric.PROMOTED_SALES in needed:
            metrics[Metric.PROMOTED_SALES] = self.promoted[person]
        if Metric.CUSTOMERS in needed:
            metrics[Metric.CUSTOMERS] = Decimal(len(self.customers[person]))
        if Metric.SELF_PURCHASE in needed:
            metrics[Metric.SELF_PURCHASE] = self.own[person]
        if needed & _HEADS:
            vips = self.terms.vip_levels
            direct = [m for m in self.recruits.get(person, ()) if _joined(m, at)]
            direct_vips = sum(self.levels[m.id] in vips for m in direct)
            metrics[Metric.DIRECT_INVITES] = Decimal(len(direct))
            metrics[Metric.DIRECT_VIPS] = Decimal(direct_vips)
            if needed & _TEAM:
                second = [m for d in direct for m in self.recruits.get(d.id, ()) if _joined(m, at)]
                metrics[Metric.TEAM_SIZE] = Decimal(len(direct) + len(second))
                metrics[Metric.TEAM_VIPS] = Decimal(direct_vips + sum(self.levels[m.id] in vips for m in second))
        return metrics

    # --- the result -----------------------------------------------------------------------------

    def _result(self, start: datetime | None, until: datetime | None) -> Replay:
        outcomes = self.books.outcomes()
        earners = {person for outcome in outcomes for person in outcome.earnings}
        population = tuple(
            m.id
            for m in self.members.values()
            if m.id in earners or (m.active and (m.joined_at is None or until is None or m.joined_at < until))
        )
        return Replay(
            start=start,
            until=until,
            pool=self.books.pool,
            margin=self.books.margin,
            replayed=dict(self.replayed),
            warm_up=self.warm_up,
            skipped=dict(self.skipped),
            orders=self.counted_orders,
            attributed=self.attributed,
            upgrades=tuple(self.upgrades),
            levels=dict(self.levels),
            population=population,
            plans=outcomes,
        )


def _joined(member: Member, at: datetime) -> bool:
    return member.joined_at is None or member.joined_at <= at

"""The in-memory :class:`~core.order_sequence.OrderPort`: the world a what-if replay runs the
order sequence in (:mod:`core.whatif`).

It holds what the live database would: the members and their levels, orders, fan locks,
bound trials, who bought and who qualified for what, and what each member sold (the upgrade
metrics). Money goes to :class:`core.whatif_books.Books`, every plan's books side by side, so
one pass of the sequence replays every plan.

What it takes as given (see :mod:`core.whatif`): members are today's, so a member counts as a
buyer's own account and as a recruit only from ``joined_at`` on; stock is not kept (the events
replayed are ones the shop sold; the live pipeline refused the others before recording
them); events before ``start`` only warm up — an order paid then books nothing, nor do its
later events, and no level changes — and entry by purchase, messages and the relay are the
live path's alone.

Worked example: member C1 (level C, recruiter B1) sells o-1 inside the window → the order
is booked for C1 and B1 under every plan; a refund of o-1 is checked against o-1's refunds
so far, as the pipeline checks it, and claws every plan back pro rata.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.attribution import Attribution, Lock, TrialTaken
from core.commission import Payout
from core.ledger import LedgerLine as CoreLine
from core.money import ZERO
from core.order_sequence import Event, OrderState, PaidFacts, Person, Terms
from core.plan import CommissionPlan
from core.products import CourseKind
from core.upgrade import LevelUp, Metric
from core.whatif_books import Booking, Books, Key, OrderMoney

_TEAM = frozenset({Metric.TEAM_SIZE, Metric.TEAM_VIPS})
_HEADS = frozenset({Metric.DIRECT_INVITES, Metric.DIRECT_VIPS}) | _TEAM


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


class MemoryOrders:
    """The order port over dictionaries; see the module docstring."""

    def __init__(
        self,
        members: Sequence[Member],
        plans: Sequence[CommissionPlan],
        terms: Terms,
        start: datetime | None = None,
        *,
        unique_ids: bool = False,
    ):
        self.terms, self.start, self.unique_ids = terms, start, unique_ids
        self.members = {m.id: m for m in members}
        self.by_code = {m.code.strip().upper(): m for m in members}
        self.by_buyer = {m.buyer_id: m for m in members if m.buyer_id}
        self.recruits: defaultdict[str, list[Member]] = defaultdict(list)
        for m in members:
            if m.recruiter is not None:
                self.recruits[m.recruiter].append(m)
        self.levels = {m.id: m.level for m in members}
        self.persons: dict[str, Person] = {}  # one Person per member and level, rebuilt on a level-up
        self.books = Books(plans, terms.refund_window_days)
        self.orders: dict[str, Kept] = {}
        self.event_ids: set[str] = set()  # not kept when the ids are unique by construction
        self.buyers: dict[str, Buyer] = {}
        self.trials: defaultdict[tuple[str, str], list[Kept]] = defaultdict(list)  # (buyer, full course)
        self.qualified: set[tuple[str, str]] = set()
        self.promoted: defaultdict[str, Decimal] = defaultdict(lambda: ZERO)
        self.own: defaultdict[str, Decimal] = defaultdict(lambda: ZERO)
        self.customers: defaultdict[str, set[str]] = defaultdict(set)
        self.upgrades: list[tuple[datetime, LevelUp]] = []
        self.counted_orders = self.attributed = 0

    def counts(self, at: datetime) -> bool:
        """Whether money made at ``at`` counts (inside the window), rather than warming up."""
        return self.start is None or at >= self.start

    def forget(self, event_id: str) -> None:
        """Take back a refused event's id (the live path's rollback does the same)."""
        self.event_ids.discard(event_id)

    def _person(self, member: Member) -> Person:
        person = self.persons.get(member.id)
        if person is None:
            person = Person(member.id, self.levels[member.id], member.recruiter, member.active)
            self.persons[member.id] = person
        return person

    # --- reads ----------------------------------------------------------------------------------

    async def record(self, events: Sequence[Event]) -> Collection[str]:
        if self.unique_ids:
            return [event.event_id for event in events]
        new = set()
        for event in events:
            if event.event_id not in self.event_ids:
                self.event_ids.add(event.event_id)
                new.add(event.event_id)
        return new

    async def paid_facts(self, event: Event, *, trials: bool) -> PaidFacts:
        buyer = event.buyer or ""
        own = self.by_buyer.get(buyer)
        if own is not None and not _joined(own, event.at):
            own = None  # bought as a plain buyer before joining
        ref = self.by_code.get(event.ref.strip().upper()) if event.ref else None
        taken = (
            [TrialTaken(t.seller, t.paid_at, t.amount, t.refunded) for t in self.trials.get((buyer, event.sku), ())]
            if trials
            else []
        )
        known = self.buyers.get(buyer)
        return PaidFacts(
            own=self._person(own) if own is not None else None,
            ref=self._person(ref) if ref is not None else None,
            locks=(known.lock,) if known is not None and known.lock is not None else (),
            trials=taken,
            bought_before=known is not None and event.sku in known.bought,
            order_taken=event.order_id in self.orders,
        )

    async def order(self, event: Event) -> OrderState | None:
        kept = self.orders.get(event.order_id)
        if kept is None:
            return None
        return OrderState(
            event.order_id,
            kept.sku,
            kept.buyer,
            kept.amount,
            kept.quantity,
            kept.paid_at,
            kept.seller,
            kept.own,
            kept.refunded,
            kept.refunded_quantity,
        )

    async def people(self, ids: Collection[str]) -> Mapping[str, Person]:
        found = {}
        for i in ids:  # a loop with the cache looked at first: this runs two or three times a sale
            person = self.persons.get(i)
            if person is None:
                member = self.members.get(i)
                if member is None:
                    continue
                person = self._person(member)
            found[i] = person
        return found

    async def metrics(self, person: Person, needed: frozenset[Metric], at: datetime) -> Mapping[Metric, Decimal]:
        """The metrics of core.upgrade, as the pipeline's query computes them, for ``needed``."""
        who = person.id
        metrics: dict[Metric, Decimal] = {}
        if Metric.PROMOTED_SALES in needed:
            metrics[Metric.PROMOTED_SALES] = self.promoted[who]
        if Metric.CUSTOMERS in needed:
            metrics[Metric.CUSTOMERS] = Decimal(len(self.customers[who]))
        if Metric.SELF_PURCHASE in needed:
            metrics[Metric.SELF_PURCHASE] = self.own[who]
        if needed & _HEADS:
            vips = self.terms.vip_levels
            direct = [m for m in self.recruits.get(who, ()) if _joined(m, at)]
            direct_vips = sum(self.levels[m.id] in vips for m in direct)
            metrics[Metric.DIRECT_INVITES] = Decimal(len(direct))
            metrics[Metric.DIRECT_VIPS] = Decimal(direct_vips)
            if needed & _TEAM:
                second = [m for d in direct for m in self.recruits.get(d.id, ()) if _joined(m, at)]
                metrics[Metric.TEAM_SIZE] = Decimal(len(direct) + len(second))
                metrics[Metric.TEAM_VIPS] = Decimal(direct_vips + sum(self.levels[m.id] in vips for m in second))
        return metrics

    async def qualified_before(self, order: OrderState) -> bool:
        return (order.buyer, order.sku) in self.qualified

    # --- writes ---------------------------------------------------------------------------------

    async def add_order(self, event: Event, order: OrderState, attribution: Attribution, facts: PaidFacts) -> None:
        counted = self.counts(event.at)
        kept = self.orders[order.id] = Kept(order, counted)
        buyer = self.buyers.get(order.buyer)
        if buyer is None:
            buyer = self.buyers[order.buyer] = Buyer()
        new_lock = attribution.new_lock
        if new_lock is not None and (buyer.lock is None or new_lock.since > buyer.lock.since):
            buyer.lock = new_lock  # the lock attribution takes: the first of the latest (core.attribution.current_lock)
        if order.sku not in buyer.bought:
            buyer.bought += (order.sku,)
        course = self.terms.courses[order.sku]
        if course.kind is CourseKind.TRIAL and course.bound_to:
            self.trials[(order.buyer, course.bound_to)].append(kept)
        if counted:
            self.counted_orders += 1
            self.attributed += order.seller is not None
        if order.seller is not None:
            if order.own:
                self.own[order.seller] += order.amount
            else:
                self.promoted[order.seller] += order.amount
                self.customers[order.seller].add(order.buyer)

    async def book(
        self,
        event: Event,
        order: OrderState,
        seller: Person | None,
        recruiter: Person | None,
        pool: Decimal,
        margin: Decimal,
    ) -> tuple[Payout, ...]:
        money = self.orders.get(order.id)
        if money is not None and money.counted:
            self.books.book(
                money,
                (seller.id, seller.level) if seller is not None else None,
                (recruiter.id, recruiter.level) if recruiter is not None and seller is not None else None,
                pool,
                margin,
                event.at,
            )
        return ()  # every plan's payouts are in the books

    async def level_up(self, person: Person, up: LevelUp, at: datetime) -> None:
        if not self.counts(at):
            return  # warming up changes no level
        self.levels[person.id] = up.to_level
        self.persons.pop(person.id, None)
        self.upgrades.append((at, up))

    async def short_of_stock(self, event: Event) -> int | None:
        return None  # stock is not kept: the replayed orders are ones the shop sold

    async def finish_paid(
        self, event: Event, order: OrderState, seller: Person | None, own: Person | None
    ) -> int | None:
        return None  # stock is not kept: the replayed orders are ones the shop sold

    async def refund(self, event: Event, order: OrderState) -> tuple[CoreLine[Any], ...]:
        kept = self.orders[order.id]
        before = kept.refunded
        kept.refunded += event.amount
        kept.refunded_quantity += event.quantity
        if kept.seller is not None:
            (self.own if kept.own else self.promoted)[kept.seller] -= event.amount
        if kept.counted:
            self.books.claw_back(kept, kept.amount, before, event.amount, event.at)
        return ()  # every plan's claw-backs are in the books

    async def qualify(self, event: Event, order: OrderState) -> None:
        self.qualified.add((order.buyer, order.sku))

    async def checkin(self, event: Event, order: OrderState) -> None:
        return None  # the cashback claws nothing back and changes nothing a replay counts


class Kept(OrderMoney):
    """A paid order as the replay keeps it for its later events (refunds, qualification,
    check-ins, a bound trial's later course): what :class:`OrderState` holds but the id (the key
    it is kept under), and its money. Kept for every order, so in slots, and the sale's own
    booking — the seller's at the time of payment, nearly always the order's only one — in two
    of them (``key``, ``recruiter``) rather than a tuple in a list."""

    __slots__ = (
        "amount",
        "buyer",
        "counted",
        "key",
        "own",
        "paid_at",
        "quantity",
        "recruiter",
        "refunded",
        "refunded_quantity",
        "seller",
        "sku",
    )

    def __init__(self, order: OrderState, counted: bool):
        super().__init__()
        self.sku, self.buyer, self.amount, self.quantity = order.sku, order.buyer, order.amount, order.quantity
        self.paid_at, self.seller, self.own = order.paid_at, order.seller, order.own
        self.refunded, self.refunded_quantity = order.refunded, order.refunded_quantity
        self.counted = counted  # paid inside the window: its money is booked
        self.key: Key | None = None
        self.recruiter: str | None = None

    def add_booking(self, seller: str, recruiter: str | None, key: Key, at: datetime) -> None:
        if self.key is None and self.more is None and seller == self.seller and at == self.paid_at:
            self.key, self.recruiter = key, recruiter
        else:
            super().add_booking(seller, recruiter, key, at)

    def bookings(self) -> Sequence[Booking]:
        if self.key is None:
            return super().bookings()
        assert self.seller is not None  # a booking kept in slots is the order's seller's
        return [(self.seller, self.recruiter, self.key, self.paid_at), *super().bookings()]


class Buyer:
    """What the replay keeps of a buyer for their next orders: the lock attribution would take
    (of a lock history only the latest lock is ever read) and the courses bought."""

    __slots__ = ("bought", "lock")

    def __init__(self) -> None:
        self.lock: Lock | None = None
        self.bought: tuple[str, ...] = ()


def _joined(member: Member, at: datetime) -> bool:
    return member.joined_at is None or member.joined_at <= at

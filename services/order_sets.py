"""A batch of paid orders read and written as sets: the order sequence's rules run in Python,
the database is asked a few set queries before and written one statement per table after.

:class:`BatchOrders` is an :class:`~core.order_sequence.OrderPort` for one unit of work that
serves several paid events. It reads what they need in a handful of queries — which event ids
and order ids are known, the stock, then (only once an order is not refused for want of
stock) the buyers' and ref codes' distributors and recruiters, fan locks, earlier purchases,
the sellers' running totals the upgrade metrics count (:mod:`models.sales`) and purchase
totals — and keeps what each event of the
batch does in memory, so the next event sees it as it would have after a commit: a lock made,
a course bought, a seller's sales. At the end :meth:`BatchOrders.write` writes the event rows,
buyers, orders, relay lines, fan locks and ledger lines each in one executemany of Core (no
ORM unit of work: :func:`models.ingest_sets.write_batch`), then takes each course's stock in
one UPDATE that only passes if the stock is still what was read, so it can never go below
zero nor count an order twice.

A refusal (a replayed event, an order paid twice, not enough stock, a malformed event) comes
before anything of its event is written, so the event is simply left out, as its own
transaction's rollback would leave it out. What an order causes beyond money is done as the
statement path does it, at the moment it happens — a level-up (written at once, so a later
order of the batch reads the new level), entry by purchase, a relay line during a push, the
red packets a stock threshold owes — and what the set path does not do at all (refunds,
qualifications, check-ins) or cannot settle (the stock changed by another transaction since
it was read, a concurrent delivery of the same event) raises :class:`Fallback` or a database
error, and the batch runs again statement by statement (:mod:`services.order_batch`).

Worked example: 16 paid orders of KX-BOX with 10 left → the known ids, and the stock with
whether a relay push is open (two queries), then members with their recruiters, locks,
earlier purchases and the possible sellers' sales (four more), 10 accepted and 6
``out_of_stock``, five INSERTs, one stock UPDATE (10 → 0, guarded by ``stock = 10``), then
the sellers' totals (two statements), one
commit. The same 16 once the stock is 0 → two queries and 16 refusals: nothing else is read,
nothing written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.base.config import CourseSettings
from bot.base.context import Context
from bot.base.logs import trace
from bot.base.outbox import post_to_brand_groups
from bot.base.tracing import written
from core.attribution import Attribution, Lock, TrialTaken
from core.commission import Payout
from core.entry import Path
from core.ledger import Entry, Reason
from core.ledger import LedgerLine as CoreLine
from core.money import ZERO
from core.order_sequence import Event, OrderState, PaidFacts, Person
from core.upgrade import LevelUp, Metric
from models import ingest
from models import ingest_sets as sets
from models import queries as q
from models.catalog import RelayLine
from models.new_ids import by_call, insert_ids
from models.orders import LedgerLine, Order, OrderEvent
from models.people import Distributor, FanLock
from models.sales import Sale, add_sales, sales_of
from services.order_effects import (
    enter_by_purchase,
    queue_earned_of_sale,
    record_level_up,
    split_of,
    thresholds_crossed,
)
from services.order_events import OrderEventIn, stored_fields

_SALES = frozenset({Metric.PROMOTED_SALES, Metric.CUSTOMERS, Metric.SELF_PURCHASE})


class Fallback(Exception):
    """The batch needs what only the statement-at-a-time path does; nothing was written."""


class BatchOrders:
    """The order port over a batch of paid events; see the module docstring."""

    def __init__(self, ctx: Context, source: str, incoming: Mapping[str, OrderEventIn]):
        self.ctx, self.session, self.source, self.incoming = ctx, ctx.session, source, incoming
        self.events: Sequence[Event] = ()
        self.members: dict[str, sets.Member] = {}
        self.recorded: set[str] = set()  # event ids known before or taken by this batch
        self.taken_orders: set[str] = set()
        self.stock: dict[str, tuple[int | None, int, list[int]]] = {}  # sku → (left, epoch, thresholds)
        self.seen_stock: dict[str, int | None] = {}  # sku → the stock as read
        self.pending: str | None = None  # the event being run, recorded but not yet written
        self.writing = False  # the pending event has started writing: a refusal now cannot be undone here
        self.loaded = False
        self.conn: AsyncConnection | None = None
        self.own_of: dict[str, sets.Member] = {}
        self.code_owner: dict[str, sets.Member] = {}
        self.locks: defaultdict[str, list[Lock]] = defaultdict(list)
        self.bought: set[tuple[str, str]] = set()  # (buyer, sku)
        self.bought_brand: set[tuple[str, str]] = set()  # (buyer, brand)
        self.customers: set[tuple[str, str]] = set()  # (seller, buyer) of a promoted order
        self.totals: dict[str, Decimal] = {}  # buyer → purchases (entry by purchase)
        self.trials: defaultdict[tuple[str, str], list[TrialTaken]] = defaultdict(list)  # this batch's
        self.metrics_read: dict[str, Mapping[Metric, Decimal]] = {}
        self.sales_read: dict[str, dict[Metric, Decimal]] = {}  # read with the batch's members
        self.sales: defaultdict[str, dict[Metric, Decimal]] = defaultdict(dict)  # this batch's, by seller
        self.sold: list[Sale] = []  # this batch's orders with a seller, for the sellers' totals (models.sales)
        self.no_push: set[str] = set()  # brands found with no relay push open
        self.rows: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)  # table → rows to write
        self.ledger_traces: list[str] = []  # the call each ledger row was booked for (bot.base.tracing)
        self.buyers: dict[str, dict[str, Any]] = {}
        self.taken: defaultdict[str, int] = defaultdict(int)  # sku → units this batch takes

    def code(self, person_id: str) -> str:
        return self.members[person_id].code

    def _keep(self, row: Any) -> sets.Member:
        member = sets.Member(*row)
        self.members[str(member.id)] = member
        return member

    # --- the batch's own bookkeeping ------------------------------------------------------------

    async def start(self, events: Sequence[Event]) -> None:
        """The event ids and order ids known already (one query), and the stock (another)."""
        self.events, conn = events, await self.connection()
        ids, orders = sorted({e.event_id for e in events}), sorted({e.order_id for e in events})
        for key, kind in await conn.execute(sets.KNOWN, {"events": ids, "orders": orders}):
            (self.recorded if kind == "event" else self.taken_orders).add(key)
        skus = sorted({e.sku for e in events})
        for sku, stock, epoch, thresholds, push_open in await conn.execute(sets.STOCK, {"skus": skus}):
            self.stock[sku] = (stock, epoch, list(thresholds or []))
            self.seen_stock[sku] = stock
            if not push_open:
                self.no_push.add(self.ctx.settings.course_brand[sku])

    async def connection(self) -> AsyncConnection:
        """The unit of work's connection: Core statements skip the ORM's per-statement work."""
        if self.conn is None:
            self.conn = await self.session.connection()
        return self.conn

    def refused(self) -> None:
        """The pending event was refused: it leaves nothing behind."""
        if self.writing:
            raise Fallback("refused after writing")
        if self.pending is not None:
            self.recorded.discard(self.pending)
        self.pending = None

    def done(self) -> None:
        self.pending, self.writing = None, False

    async def _load(self) -> None:
        """What the paid events left after the stock check need, read once for all of them."""
        self.loaded = True
        conn, settings = await self.connection(), self.ctx.settings
        buyers = sorted({e.buyer for e in self.events if e.buyer})
        codes = sorted({e.ref.strip().upper() for e in self.events if e.ref})
        for row in await conn.execute(sets.MEMBERS, {"buyers": buyers, "codes": codes}):
            member = self._keep(row)
            if member.buyer_id is not None:
                self.own_of[member.buyer_id] = member
            self.code_owner[member.code] = member
        for buyer, distributor, since in await conn.execute(sets.LOCKS, {"buyers": buyers}):
            self.locks[buyer].append(Lock(str(distributor), since))
        for buyer, sku, brand, seller, own in await conn.execute(sets.EARLIER, {"buyers": buyers}):
            self.bought.add((buyer, sku))
            self.bought_brand.add((buyer, brand))
            if seller is not None and not own:
                self.customers.add((str(seller), buyer))
        # Whoever may sell in this batch: their sales now, for the upgrade metrics.
        sellers = {m.id for m in self.members.values()}
        sellers |= {int(lock.distributor) for ls in self.locks.values() for lock in ls}
        sold = await sales_of(conn, sellers)
        for seller in sellers:
            promoted, customers, bought = sold.get(seller, (ZERO, 0, ZERO))
            self.sales_read[str(seller)] = {
                Metric.PROMOTED_SALES: promoted,
                Metric.CUSTOMERS: Decimal(customers),
                Metric.SELF_PURCHASE: bought,
            }
        if Path.PURCHASE in settings.entry.paths:
            self.totals = {buyer: total for buyer, total in await conn.execute(sets.TOTALS, {"buyers": buyers})}

    # --- reads ----------------------------------------------------------------------------------

    async def record(self, events: Sequence[Event]) -> Collection[str]:
        new = set()
        for event in events:
            if event.event_id not in self.recorded:
                self.recorded.add(event.event_id)
                self.pending = event.event_id
                new.add(event.event_id)
        return new

    async def short_of_stock(self, event: Event) -> int | None:
        left = self.stock[event.sku][0] if event.sku in self.stock else None
        if left is None or left >= event.quantity or event.order_id in self.taken_orders:
            return None
        return left

    async def paid_facts(self, event: Event, *, trials: bool) -> PaidFacts:
        if not self.loaded:
            await self._load()
        buyer, sku = event.buyer or "", event.sku
        own = self.own_of.get(buyer)
        ref = self.code_owner.get(event.ref.strip().upper()) if event.ref else None
        taken: list[TrialTaken] = []
        if trials:
            taken = [*await q.bound_trials(self.session, buyer, sku), *self.trials[(buyer, sku)]]
            taken.sort(key=lambda t: t.paid_at)
        return PaidFacts(
            own=own.person() if own is not None else None,
            ref=ref.person() if ref is not None else None,
            locks=list(self.locks.get(buyer, ())),
            trials=taken,
            bought_before=(buyer, sku) in self.bought,
            order_taken=event.order_id in self.taken_orders,
        )

    async def order(self, event: Event) -> OrderState | None:
        raise Fallback("only paid orders are run as a set")

    async def people(self, ids: Collection[str]) -> Mapping[str, Person]:
        missing = sorted(int(i) for i in ids if i not in self.members)
        if missing:
            for row in await (await self.connection()).execute(sets.MEMBERS_BY_ID, {"ids": missing}):
                self._keep(row)
        return {i: self.members[i].person() for i in ids if i in self.members}

    async def metrics(self, person: Person, needed: frozenset[Metric], at: datetime) -> Mapping[Metric, Decimal]:
        """As read before the batch, plus what this batch's orders added to the seller's sales
        (nothing else a metric counts changes here: a level-up or a new member falls back)."""
        read: Mapping[Metric, Decimal] | None = self.sales_read.get(person.id)
        if read is None or not needed <= _SALES:
            read = self.metrics_read.get(person.id)
            if read is None or not needed <= read.keys():
                vips = sorted(self.ctx.settings.vip_levels)
                read = self.metrics_read[person.id] = await q.distributor_metrics(
                    self.session, int(person.id), vips, only=needed
                )
        added = self.sales.get(person.id, {})
        return {m: read[m] + added.get(m, ZERO) for m in needed if m in read}

    async def qualified_before(self, order: OrderState) -> bool:
        raise Fallback("only paid orders are run as a set")

    # --- writes (kept until write()) ------------------------------------------------------------

    async def add_order(self, event: Event, order: OrderState, attribution: Attribution, facts: PaidFacts) -> None:
        self.writing = True
        ctx, incoming = self.ctx, self.incoming[event.event_id]
        buyer = incoming.buyer
        assert buyer is not None  # a paid event has one (OrderEventIn checks it)
        brand_id = ctx.settings.course_brand[order.sku]
        self.rows["events"].append(
            {
                "event_id": event.event_id,
                "order_id": event.order_id,
                "type": event.type.value,
                "occurred_at": event.at,
                "received_at": ctx.now,
                "source": self.source,
                "payload": incoming.model_dump(mode="json"),
                **stored_fields(incoming),
            }
        )
        known = self.buyers.get(buyer.id)
        if known is None:
            self.buyers[buyer.id] = {
                "id": buyer.id,
                "name": buyer.name,
                "phone": buyer.phone,
                "first_seen_at": ctx.now,
                "self_purchase_total": event.amount,
            }
        else:
            known["self_purchase_total"] += event.amount
        if buyer.id in self.totals or Path.PURCHASE in ctx.settings.entry.paths:
            self.totals[buyer.id] = self.totals.get(buyer.id, ZERO) + event.amount
        if attribution.new_lock is not None:
            lock = attribution.new_lock
            self.locks[buyer.id].append(lock)
            self.rows["locks"].append(
                {
                    "buyer_id": buyer.id,
                    "distributor_id": int(lock.distributor),
                    "since": lock.since,
                    "why": attribution.why.value,
                    "order_id": order.id,
                }
            )
        self.rows["orders"].append(
            {
                "id": order.id,
                "course_sku": order.sku,
                "brand_id": brand_id,
                "buyer_id": buyer.id,
                "quantity": order.quantity,
                "amount": order.amount,
                "ref": event.ref,
                "seller_id": int(order.seller) if order.seller is not None else None,
                "attribution": attribution.why.value,
                "new_customer": (buyer.id, brand_id) not in self.bought_brand,
                "self_purchase": order.own,
                "paid_at": order.paid_at,
                "push_id": None,
            }
        )
        self.taken_orders.add(order.id)
        self.bought.add((buyer.id, order.sku))
        self.bought_brand.add((buyer.id, brand_id))
        bound_to = ctx.settings.courses[order.sku].bound_to
        if bound_to:
            self.trials[(buyer.id, bound_to)].append(TrialTaken(order.seller, order.paid_at, order.amount, ZERO))
        if order.seller is not None:
            self.sold.append(Sale(int(order.seller), buyer.id, order.own, order.amount))
            sales = self.sales[order.seller]
            if order.own:
                sales[Metric.SELF_PURCHASE] = sales.get(Metric.SELF_PURCHASE, ZERO) + order.amount
            else:
                sales[Metric.PROMOTED_SALES] = sales.get(Metric.PROMOTED_SALES, ZERO) + order.amount
                if (order.seller, buyer.id) not in self.customers:
                    self.customers.add((order.seller, buyer.id))
                    sales[Metric.CUSTOMERS] = sales.get(Metric.CUSTOMERS, ZERO) + 1

    async def book(
        self,
        event: Event,
        order: OrderState,
        seller: Person | None,
        recruiter: Person | None,
        pool: Decimal,
        margin: Decimal,
    ) -> tuple[Payout, ...]:
        """Split under the configured plan, keep the earned lines, DM each payee."""
        split = split_of(self.ctx, seller, recruiter, pool, margin)
        if split is None or seller is None:
            return ()
        detail = {"event": event.type.value, "pool": str(split.pool), "margin": str(split.margin)}
        for p in split.payouts:
            self.ledger_traces.append(trace.get())
            self.rows["ledger"].append(
                {
                    "commission_id": None,
                    "distributor_id": int(p.payee),
                    "order_id": order.id,
                    "event_id": event.event_id,
                    "kind": p.kind,
                    "entry": Entry.EARNED,
                    "amount": p.amount,
                    "reason": Reason.SALE,
                    "detail": detail,
                    "at": event.at,
                }
            )
        queue_earned_of_sale(
            self.ctx,
            split,
            seller,
            recruiter,
            self.members.__getitem__,
            order_id=order.id,
            sku=order.sku,
            quantity=order.quantity,
            own=order.own,
            at=event.at,
        )
        return tuple(split.payouts)

    async def level_up(self, person: Person, up: LevelUp, at: datetime) -> None:
        """Written at once (what a later order of the batch reads of levels is the database's)."""
        ctx, member = self.ctx, self.members[person.id]
        record_level_up(ctx, member, up)
        await (await self.connection()).execute(
            update(sets.table_of(Distributor))
            .where(Distributor.id == member.id)
            .values(level=up.to_level, level_since=ctx.now)
        )
        self.members[person.id] = replace(member, level=up.to_level)
        self.metrics_read.clear()  # a recruiter's VIP counts may have changed

    async def finish_paid(
        self, event: Event, order: OrderState, seller: Person | None, own: Person | None
    ) -> int | None:
        """Entry by purchase, the stock, the relay line and red packets, as
        :meth:`services.order_store.SqlOrders.finish_paid` does them; the stock is only
        counted here and taken in :meth:`write`."""
        ctx, settings = self.ctx, self.ctx.settings
        if own is None and Path.PURCHASE in settings.entry.paths:
            incoming = self.incoming[event.event_id].buyer
            assert incoming is not None
            total = self.totals[order.buyer]
            row = await enter_by_purchase(ctx, order.buyer, incoming.name, total, seller.id if seller else None)
            if row is not None:
                await self.session.flush()
                self.own_of[order.buyer] = self._keep(tuple(getattr(row, c.key) for c in sets.MEMBER_COLUMNS))
                self.metrics_read.clear()  # the recruiter has one more direct invite
        brand_id, course = settings.course_brand[order.sku], settings.courses[order.sku]
        if seller is not None:
            await self._relay(brand_id, order, self.members[seller.id], course)
        left, epoch, thresholds = self.stock[order.sku]
        if left is None:
            return None
        after = left - order.quantity
        assert after >= 0  # short_of_stock refused it otherwise
        self.stock[order.sku] = (after, epoch, thresholds)
        self.taken[order.sku] += order.quantity
        await thresholds_crossed(ctx, course, brand_id, left, after, epoch, thresholds)
        return after

    async def _relay(self, brand_id: str, order: OrderState, seller: sets.Member, course: CourseSettings) -> None:
        """During the brand's open push, the order's numbered line (:func:`services.order_effects.relay`)."""
        if brand_id in self.no_push:
            return
        line = await ingest.next_relay_line(self.session, brand_id)
        if line is None:
            self.no_push.add(brand_id)  # a push opened meanwhile waits for the next batch
            return
        push_id, number = line
        self.rows["orders"][-1]["push_id"] = push_id
        self.rows["relay"].append(
            {
                "push_id": push_id,
                "number": number,
                "order_id": order.id,
                "seller_id": seller.id,
                "amount": order.amount,
                "quantity": order.quantity,
                "relayed_at": self.ctx.now,
            }
        )
        data = {"number": number, "seller": seller.name, "course": course.name, "quantity": order.quantity}
        await post_to_brand_groups(self.ctx, brand_id, "relay_line", data, coalesce="relay")

    async def refund(self, event: Event, order: OrderState) -> tuple[CoreLine[Any], ...]:
        raise Fallback("only paid orders are run as a set")

    async def qualify(self, event: Event, order: OrderState) -> None:
        raise Fallback("only paid orders are run as a set")

    async def checkin(self, event: Event, order: OrderState) -> None:
        raise Fallback("only paid orders are run as a set")

    # --- the writes -----------------------------------------------------------------------------

    async def write(self) -> None:
        """One statement per table, then the stock, taken only if it is still what was read."""
        tables = {"events": OrderEvent, "orders": Order, "relay": RelayLine, "locks": FanLock, "ledger": LedgerLine}
        rows = {tables[name]: self.rows[name] for name in tables}
        traced = any(self.ledger_traces)
        if traced:  # written below, their ids noted for the call each was booked for
            rows[LedgerLine] = []
        stock = {sku: (self.seen_stock[sku], quantity) for sku, quantity in self.taken.items()}
        conn = await self.connection()
        changed = await sets.write_batch(self.session, conn, rows, list(self.buyers.values()), stock)
        if changed:
            raise Fallback(f"the stock of {changed} changed since it was read")
        await add_sales(conn, self.sold)  # after the stock, as one order alone takes them
        if traced:
            record = written(self.ctx.uow)
            ids = await insert_ids(conn, sets.table_of(LedgerLine), self.rows["ledger"])
            for current, mine in by_call(ids, self.ledger_traces).items():
                record.ledger(current, mine)

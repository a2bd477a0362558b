"""The live :class:`~core.order_sequence.OrderPort`: the order sequence's reads and writes as
SQL, in one unit of work (:class:`bot.base.context.Context`).

Each method is the pipeline's own named queries (:mod:`models.ingest`, :mod:`models.queries`)
and ORM rows; what an order causes beyond money — the "you earned" and claw-back DMs, entry by
purchase, the relay line, red packets (:mod:`services.order_effects`) — is written here too,
in the same unit of work, since only the live path causes it. Rows loaded once are kept by
the session (its identity map), so asking for the seller again costs no round trip.

A port serves the events of its unit of work: ``incoming`` maps each event id to the event
as received (the stored payload, the buyer's name and phone), so one adapter can serve many
events of one transaction. A batch's port reads what its events need once, before them
(:meth:`SqlOrders.prefetch`): the buyers' own accounts, the ref codes' owners and their
recruiters, in two queries instead of two per order.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from bot.base.context import Context
from core.attribution import Attribution
from core.commission import Payout
from core.ledger import Entry, Reason, claw_back
from core.ledger import LedgerLine as CoreLine
from core.money import ZERO
from core.order_sequence import Event, OrderState, PaidFacts, Person, out_of_stock
from core.products import EventType
from core.upgrade import LevelUp, Metric
from models import ingest
from models import queries as q
from models.orders import LedgerLine, Order
from models.people import Buyer, Distributor, FanLock
from models.sales import Sale, add_sales, known_customers, refund_sale
from models.statuses import DistributorStatus
from services.order_effects import (
    dm_clawbacks,
    enter_by_purchase,
    queue_earned_of_sale,
    record_level_up,
    relay,
    split_of,
    thresholds_crossed,
)
from services.order_events import OrderEventIn, stored_fields


def person_of(row: Distributor) -> Person:
    """A distributor row as the sequence sees it."""
    return Person(
        str(row.id),
        row.level,
        str(row.recruiter_id) if row.recruiter_id is not None else None,
        row.status == DistributorStatus.ACTIVE,
    )


def state_of(order: Order) -> OrderState:
    return OrderState(
        id=order.id,
        sku=order.course_sku,
        buyer=order.buyer_id,
        amount=order.amount,
        quantity=order.quantity,
        paid_at=order.paid_at,
        seller=str(order.seller_id) if order.seller_id is not None else None,
        own=order.self_purchase,
        refunded=order.refunded,
        refunded_quantity=order.refunded_quantity,
    )


class SqlOrders:
    """The order port over one unit of work; see the module docstring."""

    def __init__(self, ctx: Context, source: str, incoming: Mapping[str, OrderEventIn]):
        self.ctx, self.session, self.source, self.incoming = ctx, ctx.session, source, incoming
        self.rows: dict[str, Distributor] = {}  # the distributors this port has read, by the sequence's id
        self.orders: dict[str, Order] = {}  # the orders it has read or written
        self.new_to_brand: dict[str, bool] = {}  # order id → the buyer never bought from its brand
        self.purchases: dict[str, Decimal] = {}  # buyer → their purchases now, for entry by purchase
        self.stock: dict[str, int | None] = {}  # sku → its stock as this unit of work last saw it
        self.unsold: list[Sale] = []  # the order under way, not yet in its seller's totals
        # What prefetch() read: buyer → own account (None: none), ref code → owner. A buyer
        # met again in this unit of work is read afresh (their first order may have made
        # them a distributor).
        self.own_of: dict[str, Distributor | None] = {}
        self.code_owner: dict[str, Distributor] = {}
        self.buyers_seen: set[str] = set()

    def code(self, person_id: str) -> str:
        """The code of a distributor this port has read."""
        return self.rows[person_id].code

    def _keep(self, row: Distributor | None) -> Person | None:
        if row is None:
            return None
        self.rows[str(row.id)] = row
        return person_of(row)

    # --- reads ----------------------------------------------------------------------------------

    async def prefetch(self, events: Sequence[Event]) -> None:
        """Read once what the paid events of a batch will ask for: the buyers' accounts, the
        ref codes' owners (one query) and their recruiters (one more)."""
        paid = [e for e in events if e.type is EventType.PAID and e.buyer]
        buyers = {e.buyer for e in paid if e.buyer}
        codes = {e.ref.strip().upper() for e in paid if e.ref}
        rows = await ingest.distributors_of(self.session, buyers, codes)
        self.own_of.update(dict.fromkeys(buyers))
        for row in rows:
            self._keep(row)
            if row.buyer_id in buyers and self.own_of.get(row.buyer_id) is None:
                self.own_of[row.buyer_id] = row
            if row.code in codes:
                self.code_owner[row.code] = row
        await self.people({str(row.recruiter_id) for row in rows if row.recruiter_id is not None})

    async def record(self, events: Sequence[Event]) -> Collection[str]:
        """One INSERT … ON CONFLICT DO NOTHING per event (a concurrent delivery of the same id
        waits for the first to commit, then finds it)."""
        new = set()
        for event in events:
            if await ingest.record_event(
                self.session,
                event_id=event.event_id,
                order_id=event.order_id,
                type=event.type.value,
                occurred_at=event.at,
                received_at=self.ctx.now,
                source=self.source,
                payload=self.incoming[event.event_id].model_dump(mode="json"),
                **stored_fields(self.incoming[event.event_id]),
            ):
                new.add(event.event_id)
        return new

    async def paid_facts(self, event: Event, *, trials: bool) -> PaidFacts:
        """Three or four statements: the buyer's account and the ref code's owner in one, the
        bound trials (when asked), the lock history (unless the buyer is an active distributor,
        who always sells to themself) and the earlier purchases."""
        session, buyer = self.session, event.buyer or ""
        ref_code = event.ref.strip().upper() if event.ref else None
        if buyer in self.own_of and buyer not in self.buyers_seen and (not ref_code or ref_code in self.code_owner):
            own_row, ref_row = self.own_of[buyer], self.code_owner.get(ref_code) if ref_code else None
        else:
            own_row, ref_row = await ingest.distributors_for_order(session, buyer, ref_code)
        self.buyers_seen.add(buyer)
        own, ref = self._keep(own_row), self._keep(ref_row)
        taken = await q.bound_trials(session, buyer, event.sku) if trials else []
        locks = await q.lock_history(session, buyer) if own is None or not own.active else []
        brand_id = self.ctx.settings.course_brand[event.sku]
        bought_course, bought_brand = await ingest.earlier_purchases(session, buyer, event.sku, brand_id)
        self.new_to_brand[event.order_id] = not bought_brand
        return PaidFacts(own=own, ref=ref, locks=locks, trials=taken, bought_before=bought_course)

    async def short_of_stock(self, event: Event) -> int | None:
        """One SELECT per course and unit of work while there is enough (the stock this unit
        of work took is followed from what :meth:`finish_paid` returns); when it looks short,
        read again (another transaction may have returned some) and make sure the order is
        not a replay, which is answered as one."""
        if event.sku not in self.stock:
            self.stock[event.sku] = await ingest.stock_of(self.session, event.sku)
        known = self.stock[event.sku]
        if known is None or known >= event.quantity:
            return None
        left = self.stock[event.sku] = await ingest.stock_of(self.session, event.sku)
        if left is None or left >= event.quantity:
            return None
        if await self.session.get(Order, event.order_id) is not None:
            return None
        return left

    async def order(self, event: Event) -> OrderState | None:
        # Locked: two refunds of one order at once must not both pass the sequence's checks.
        row = await self.session.get(Order, event.order_id, with_for_update=True)
        if row is None:
            return None
        self.orders[row.id] = row
        return state_of(row)

    async def people(self, ids: Collection[str]) -> Mapping[str, Person]:
        """Those already read from this port's rows (kept, so the session cannot drop them);
        the others in one query."""
        missing = {int(i) for i in ids if i not in self.rows}
        if missing:
            for row in await ingest.distributors_by_id(self.session, missing):
                self._keep(row)
        return {i: person_of(self.rows[i]) for i in ids if i in self.rows}

    async def metrics(self, person: Person, needed: frozenset[Metric], at: datetime) -> Mapping[Metric, Decimal]:
        """As the database has them, plus the order under way: the sellers' totals take it only
        once its stock is taken (:meth:`finish_paid`)."""
        vips = sorted(self.ctx.settings.vip_levels)
        metrics = await q.distributor_metrics(self.session, int(person.id), vips, only=needed)
        mine = [sale for sale in self.unsold if str(sale.seller_id) == person.id]
        if not mine:
            return metrics
        promoted = [sale for sale in mine if not sale.own]
        added = {
            Metric.PROMOTED_SALES: sum((sale.amount for sale in promoted), ZERO),
            Metric.SELF_PURCHASE: sum((sale.amount for sale in mine if sale.own), ZERO),
        }
        if Metric.CUSTOMERS in needed and promoted:
            buyers = {sale.buyer_id for sale in promoted}
            added[Metric.CUSTOMERS] = Decimal(len(buyers - await known_customers(self.session, int(person.id), buyers)))
        return {metric: value + added.get(metric, ZERO) for metric, value in metrics.items()}

    async def qualified_before(self, order: OrderState) -> bool:
        return await q.has_qualified(self.session, order.buyer, order.sku)

    # --- writes ---------------------------------------------------------------------------------

    async def add_order(self, event: Event, order: OrderState, attribution: Attribution, facts: PaidFacts) -> None:
        """The buyer's purchases, the new lock and the order. The same order id paid twice
        fails here on the order's primary key; :func:`services.orders.process_event` answers
        that as a duplicate."""
        session, buyer = self.session, self.incoming[event.event_id].buyer
        assert buyer is not None  # a paid event has one (OrderEventIn checks it)
        self.purchases[buyer.id] = await ingest.add_buyer_purchase(
            session, buyer_id=buyer.id, name=buyer.name, phone=buyer.phone, amount=event.amount, now=self.ctx.now
        )
        if attribution.new_lock is not None:
            session.add(
                FanLock(
                    buyer_id=buyer.id,
                    distributor_id=int(attribution.new_lock.distributor),
                    since=attribution.new_lock.since,
                    why=attribution.why.value,
                    order_id=order.id,
                )
            )
        row = self.orders[order.id] = Order(
            id=order.id,
            course_sku=order.sku,
            brand_id=self.ctx.settings.course_brand[order.sku],
            buyer_id=buyer.id,
            quantity=order.quantity,
            amount=order.amount,
            ref=event.ref,
            seller_id=int(order.seller) if order.seller is not None else None,
            attribution=attribution.why.value,
            new_customer=self.new_to_brand.pop(order.id, True),
            self_purchase=order.own,
            paid_at=order.paid_at,
        )
        session.add(row)
        if row.seller_id is not None:
            self.unsold.append(Sale(row.seller_id, buyer.id, order.own, order.amount))
        await session.flush()  # before its ledger lines (no ORM relationship orders them)

    async def book(
        self,
        event: Event,
        order: OrderState,
        seller: Person | None,
        recruiter: Person | None,
        pool: Decimal,
        margin: Decimal,
    ) -> tuple[Payout, ...]:
        """Split under the configured plan, write earned lines, DM each payee."""
        split = split_of(self.ctx, seller, recruiter, pool, margin)
        if split is None or seller is None:
            return ()
        detail = {"event": event.type.value, "pool": str(split.pool), "margin": str(split.margin)}
        self.session.add_all(
            LedgerLine.from_core(
                CoreLine(None, p.payee, p.kind, Entry.EARNED, p.amount, Reason.SALE, event.at),
                order_id=order.id,
                event_id=event.event_id,
                detail=detail,
            )
            for p in split.payouts
        )
        row = self.orders[order.id]
        queue_earned_of_sale(
            self.ctx,
            split,
            seller,
            recruiter,
            self.rows.__getitem__,
            order_id=order.id,
            sku=order.sku,
            quantity=row.quantity,
            own=row.self_purchase,
            at=event.at,
        )
        return tuple(split.payouts)

    async def level_up(self, person: Person, up: LevelUp, at: datetime) -> None:
        ctx, row = self.ctx, self.rows[person.id]
        record_level_up(ctx, row, up)  # before the change: the audit log's "before"
        row.level = up.to_level
        row.level_since = ctx.now

    async def finish_paid(
        self, event: Event, order: OrderState, seller: Person | None, own: Person | None
    ) -> int | None:
        ctx, session = self.ctx, self.session
        buyer = self.incoming[event.event_id].buyer
        assert buyer is not None
        seller_row = self.rows[seller.id] if seller is not None else None
        if own is None:
            await enter_by_purchase(ctx, buyer.id, buyer.name, self.purchases[buyer.id], seller.id if seller else None)
        # Last, the two rows every concurrent order of this course (or brand, during a push)
        # contends for: taken here, their locks are held only until the commit that follows.
        # The push's line count first, then the stock, as a batch run as sets takes them
        # (services.order_sets): two transactions taking them in opposite orders could each
        # wait on the other. What the order causes in the brand's groups is queued in causal
        # order: its relay line, then the red packet its stock reached (the sender keeps a
        # room's messages in this order); refused for want of stock, the line is rolled back.
        brand_id = ctx.settings.course_brand[order.sku]
        course = ctx.settings.courses[order.sku]
        if seller_row is not None:
            await relay(ctx, brand_id, self.orders[order.id], seller_row, course)
        taken = await ingest.take_stock(session, order.sku, order.quantity)
        if taken is None:
            left = self.stock[order.sku] = await ingest.stock_of(session, order.sku)
            raise out_of_stock(order.sku, left or 0, order.quantity)
        stock_left, epoch, thresholds = taken
        self.stock[order.sku] = stock_left
        # The seller's totals after the stock, as a batch run as sets takes them: every order
        # of the seller contends for that row.
        await add_sales(session, self.unsold)
        self.unsold.clear()
        if stock_left is not None:
            await thresholds_crossed(ctx, course, brand_id, stock_left + order.quantity, stock_left, epoch, thresholds)
        return stock_left

    async def refund(self, event: Event, order: OrderState) -> tuple[CoreLine[Any], ...]:
        session = self.session
        row = self.orders[order.id]  # locked by order()
        commissions = await q.commissions_of_order(session, order.id)
        lines = claw_back(
            commissions,
            paid=row.amount,
            refunded_before=row.refunded,
            refunded_now=event.amount,
            now=event.at,
            window_days=self.ctx.settings.raw.settlement.refund_window_days,
        )
        detail = {"refunded": str(event.amount), "paid": str(row.amount)}
        session.add_all(
            LedgerLine.from_core(line, order_id=row.id, event_id=event.event_id, detail=detail) for line in lines
        )
        row.refunded += event.amount
        row.refunded_quantity += event.quantity
        await session.execute(  # atomic: a concurrent purchase may be adding to the same total
            update(Buyer)
            .where(Buyer.id == row.buyer_id)
            .values(self_purchase_total=Buyer.self_purchase_total - event.amount)
        )
        if event.quantity:
            await q.return_stock(session, row.course_sku, event.quantity)
            self.stock.pop(row.course_sku, None)
        if row.seller_id is not None:  # the seller's totals last, after the stock (see finish_paid)
            await refund_sale(session, row.seller_id, row.self_purchase, event.amount)
        await dm_clawbacks(self.ctx, row, event.amount, lines)
        return tuple(lines)

    async def qualify(self, event: Event, order: OrderState) -> None:
        row = self.orders[order.id]
        row.qualified_at = row.qualified_at or event.at

    async def checkin(self, event: Event, order: OrderState) -> None:
        row = self.orders[order.id]
        row.checkins_completed_at = row.checkins_completed_at or event.at

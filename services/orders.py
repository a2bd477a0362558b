"""Order events: one event, one transaction.

A paid order is attributed through core (fan lock, self-purchase, bound trials), split through
core, written as ledger lines, takes stock with an UPDATE that cannot go below zero, records
each stock threshold crossed exactly once, and queues what it causes — a relay line in the
brand's groups during a push, red-packet announcements, an "you earned …" DM to each payee, a
congratulation when someone levels up (:mod:`services.order_effects`) — in the outbox, all in
the caller's unit of work. A refund reverses through core the same way.

:func:`process_event` runs one event in its own unit of work: the one path of the webhook and
of a back-fill. Anything wrong raises a :mod:`services.errors` error before the unit of work
commits, so nothing is written: :class:`~services.errors.Invalid` (naming the event's field:
an unknown order, a refund of more units than were bought), :class:`~services.errors.Refused`
(not enough stock, a refund beyond what was paid), :class:`~services.errors.Conflict` (a
refunded order qualifying), :class:`~services.errors.Duplicate` (an event or an order already
recorded: nothing changes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from bot.base.config import CourseSettings
from bot.base.context import Context
from bot.base.env import Env
from bot.base.outbox import queue_text
from core.attribution import Why, attribute, bound_seller
from core.commission import Party, Payout, split_sale
from core.ledger import Entry, Reason, claw_back
from core.ledger import LedgerLine as CoreLine
from core.products import CourseKind, EventType, payable
from models import ingest
from models import queries as q
from models.orders import LedgerLine, Order, OrderEvent
from models.people import Buyer, Distributor, FanLock
from models.statuses import DistributorStatus
from services.errors import Conflict, Duplicate, Invalid, Refused
from services.order_effects import (
    check_upgrade,
    dm_clawbacks,
    enter_by_purchase,
    person_id,
    relay,
    thresholds_crossed,
)
from services.order_events import OrderEventIn

log = logging.getLogger(__name__)


@dataclass
class Accepted:
    """What an accepted event did: the order, and a summary (seller, payouts, stock left…)."""

    order_id: str
    detail: dict[str, Any] = field(default_factory=dict)


def _invalid(code: str, reason: str, field: str) -> Invalid:
    """A refusal about one field of the event, listed as every malformed body lists its problems."""
    return Invalid([f"{field}: {reason}"], reason=reason, code=code)


def _duplicate(event: OrderEventIn) -> Duplicate:
    return Duplicate(details={"event_id": event.event_id, "order_id": event.order_id})


async def process_event(env: Env, event: OrderEventIn, source: str = "webhook") -> Accepted:
    """Run one event in its own unit of work: the one path of the webhook and of a back-fill."""
    try:
        async with env.context() as ctx:
            accepted = await handle_order_event(ctx, event, source)
    except IntegrityError:
        # A concurrent delivery of the same event or order won the race: that is a replay.
        async with env.db.reading() as session:
            known = await session.get(OrderEvent, event.event_id) is not None
            if not known and event.type is EventType.PAID:
                known = await session.get(Order, event.order_id) is not None
            if known:
                raise _duplicate(event) from None
        raise
    _log_accepted(event, accepted, source)
    return accepted


def _log_accepted(event: OrderEventIn, accepted: Accepted, source: str) -> None:
    """One line per accepted event (a back-fill's lines are debug: its summary says it all)."""
    detail = accepted.detail
    paid = ", ".join(f"{p['distributor']} {p['kind']} {p['amount']}" for p in detail.get("payouts", ())) or "nobody"
    log.log(
        logging.INFO if source == "webhook" else logging.DEBUG,
        "order %s: %s event %s accepted (%s): %s ×%d, %s; seller %s; paid %s",
        accepted.order_id,
        event.type.value,
        event.event_id,
        source,
        event.course_sku,
        event.quantity,
        event.amount,
        detail.get("seller") or "—",
        paid,
    )


async def handle_order_event(ctx: Context, event: OrderEventIn, source: str = "webhook") -> Accepted:
    session = ctx.session
    course = ctx.settings.courses.get(event.course_sku)
    if course is None:
        raise _invalid("unknown_sku", f"unknown course sku {event.course_sku!r}", "course_sku")
    recorded = await ingest.record_event(
        session,
        event_id=event.event_id,
        order_id=event.order_id,
        type=event.type.value,
        occurred_at=event.occurred_at,
        received_at=ctx.now,
        source=source,
        payload=event.model_dump(mode="json"),
    )
    if not recorded:
        raise _duplicate(event)
    if event.type is EventType.PAID:
        return await _paid(ctx, event, course)
    # Locked: two refunds of one order at once must not both pass the checks below.
    order = await session.get(Order, event.order_id, with_for_update=True)
    if order is None:
        reason = f"no paid order {event.order_id!r} to apply a {event.type} event to"
        raise _invalid("unknown_order", reason, "order_id")
    if order.course_sku != course.sku:
        raise _invalid("sku_mismatch", f"order {order.id} is for {order.course_sku}, not {course.sku}", "course_sku")
    if event.type is EventType.REFUNDED:
        return await _refunded(ctx, event, course, order)
    if event.type is EventType.QUALIFIED:
        return await _qualified(ctx, event, course, order)
    return await _checkin_completed(ctx, event, course, order)


async def _paid(ctx: Context, event: OrderEventIn, course: CourseSettings) -> Accepted:
    """A paid order. The same order id paid twice fails on the order's primary key at commit;
    the caller answers that as a duplicate."""
    session, settings = ctx.session, ctx.settings
    assert event.buyer is not None  # checked by OrderEventIn
    brand_id = settings.course_brand[course.sku]

    purchases = await ingest.add_buyer_purchase(
        session,
        buyer_id=event.buyer.id,
        name=event.buyer.name,
        phone=event.buyer.phone,
        amount=event.amount,
        now=ctx.now,
    )
    ref_code = event.ref.strip().upper() if event.ref else None
    own, ref = await ingest.distributors_for_order(session, event.buyer.id, ref_code)
    own = own if own is not None and own.status == DistributorStatus.ACTIVE else None
    bound = (
        bound_seller(await q.bound_trials(session, event.buyer.id, course.sku))
        if course.sku in settings.bound_targets
        else None
    )
    attribution = attribute(
        rule=settings.fan_lock,
        now=event.occurred_at,
        history=await q.lock_history(session, event.buyer.id) if own is None else (),
        ref_distributor=person_id(ref) if ref is not None and ref.status == DistributorStatus.ACTIVE else None,
        buyer_distributor=person_id(own) if own is not None else None,
        bound_distributor=bound,
    )
    if attribution.new_lock is not None:
        session.add(
            FanLock(
                buyer_id=event.buyer.id,
                distributor_id=int(attribution.new_lock.distributor),
                since=attribution.new_lock.since,
                why=attribution.why.value,
                order_id=event.order_id,
            )
        )
    seller = await session.get(Distributor, int(attribution.seller)) if attribution.seller else None
    if seller is not None and seller.status != DistributorStatus.ACTIVE:
        seller = None
    bought_course, bought_brand = await ingest.earlier_purchases(session, event.buyer.id, course.sku, brand_id)
    order = Order(
        id=event.order_id,
        course_sku=course.sku,
        brand_id=brand_id,
        buyer_id=event.buyer.id,
        quantity=event.quantity,
        amount=event.amount,
        ref=event.ref,
        seller_id=seller.id if seller else None,
        attribution=attribution.why.value,
        new_customer=not bought_brand,
        self_purchase=attribution.why is Why.SELF_PURCHASE,
        paid_at=event.occurred_at,
    )
    session.add(order)
    await session.flush()  # before its ledger lines (no ORM relationship orders them)

    owed = payable(course.terms(), EventType.PAID, event.quantity, new_customer=not bought_course)
    payouts = await _book(ctx, event, order, seller, owed.pool, owed.margin)
    if seller is not None:
        await check_upgrade(ctx, seller)
    if own is None:
        await enter_by_purchase(ctx, event.buyer.id, event.buyer.name, purchases, seller)

    # Last, the two rows every concurrent order of this course (or brand, during a push)
    # contends for: taken here, their locks are held only until the commit that follows.
    taken = await ingest.take_stock(session, course.sku, event.quantity)
    if taken is None:
        left = await ingest.stock_of(session, course.sku)
        raise Refused(f"only {left} left of {course.sku}, {event.quantity} ordered", code="out_of_stock")
    stock_left, epoch, thresholds = taken
    # What the order causes in the brand's groups is queued in causal order: its relay line,
    # then the red packet its stock reached (the sender keeps a room's messages in this order).
    if seller is not None:
        await relay(ctx, brand_id, order, seller, course)
    if stock_left is not None:
        await thresholds_crossed(ctx, course, brand_id, stock_left + event.quantity, stock_left, epoch, thresholds)
    return Accepted(
        order.id,
        {
            "seller": seller.code if seller else None,
            "attribution": attribution.why.value,
            "payouts": [{"distributor": code, "kind": p.kind.value, "amount": str(p.amount)} for code, p in payouts],
            "stock": stock_left,
        },
    )


async def _book(
    ctx: Context, event: OrderEventIn, order: Order, seller: Distributor | None, pool: Decimal, margin: Decimal
) -> list[tuple[str, Payout]]:
    """Split ``pool`` for this order's seller, write earned lines, DM each payee."""
    if seller is None or seller.status != DistributorStatus.ACTIVE or (pool == 0 and margin == 0):
        return []  # an inactive seller's share stays with the platform, whatever the event
    recruiter = await ctx.session.get(Distributor, seller.recruiter_id) if seller.recruiter_id else None
    if recruiter is not None and recruiter.status != DistributorStatus.ACTIVE:
        recruiter = None
    split = split_sale(
        ctx.settings.plan,
        pool,
        Party(person_id(seller), seller.level),
        Party(person_id(recruiter), recruiter.level) if recruiter else None,
        margin=margin,
    )
    people = {person_id(seller): seller, **({person_id(recruiter): recruiter} if recruiter else {})}
    detail = {"event": event.type.value, "pool": str(split.pool), "margin": str(split.margin)}
    ctx.session.add_all(
        LedgerLine.from_core(
            CoreLine(None, p.payee, p.kind, Entry.EARNED, p.amount, Reason.SALE, event.occurred_at),
            order_id=order.id,
            event_id=event.event_id,
            detail=detail,
        )
        for p in split.payouts
    )
    settles_on = event.occurred_at + timedelta(days=ctx.settings.raw.settlement.refund_window_days)
    course = ctx.settings.courses[order.course_sku]
    for payee_id, person in people.items():
        mine = [p for p in split.payouts if p.payee == payee_id]
        if mine and person.contact_id:
            queue_text(
                ctx,
                target=person.contact_id,
                account=person.helper_account,
                template="earned_dm",
                coalesce_key=f"earned:{person.contact_id}",  # a burst of sales: one DM, not twenty
                data={
                    "name": person.name,
                    "order_id": order.id,
                    "course": course.name,
                    "quantity": order.quantity,
                    "payouts": [{"kind": p.kind.value, "amount": p.amount} for p in mine],
                    "self_purchase": order.self_purchase and person is seller,
                    "settles_on": ctx.renderer._local(settles_on, "%m月%d日"),
                },
            )
    return [(people[p.payee].code, p) for p in split.payouts]


async def _refunded(ctx: Context, event: OrderEventIn, course: CourseSettings, order: Order) -> Accepted:
    session = ctx.session
    if order.refunded + event.amount > order.amount:
        raise Refused(
            f"refund {event.amount} would exceed what is left of {order.amount} paid"
            f" ({order.amount - order.refunded} after earlier refunds)",
            code="refund_exceeds_paid",
        )
    if order.refunded_quantity + event.quantity > order.quantity:
        raise _invalid(
            "refund_quantity",
            f"order {order.id} has {order.quantity} units, {order.refunded_quantity} already returned;"
            f" {event.quantity} more cannot be",
            "quantity",
        )
    commissions = await q.commissions_of_order(session, order.id)
    lines = claw_back(
        commissions,
        paid=order.amount,
        refunded_before=order.refunded,
        refunded_now=event.amount,
        now=event.occurred_at,
        window_days=ctx.settings.raw.settlement.refund_window_days,
    )
    await _write_lines(ctx, order, event, lines)
    order.refunded += event.amount
    order.refunded_quantity += event.quantity
    await session.execute(  # atomic: a concurrent purchase may be adding to the same total
        update(Buyer)
        .where(Buyer.id == order.buyer_id)
        .values(self_purchase_total=Buyer.self_purchase_total - event.amount)
    )
    if event.quantity:
        await q.return_stock(session, course.sku, event.quantity)
    await dm_clawbacks(ctx, order, event.amount, lines)
    return Accepted(order.id, {"clawed_back": [{"kind": ln.kind, "amount": str(ln.amount)} for ln in lines]})


async def _qualified(ctx: Context, event: OrderEventIn, course: CourseSettings, order: Order) -> Accepted:
    if course.type is not CourseKind.CPA:
        raise _invalid("not_cpa", f"{course.sku} is not a CPA course; only CPA orders qualify", "type")
    if order.refunded >= order.amount > 0:
        raise Conflict(f"order {order.id} was refunded", code="refunded")
    new_customer = not await q.has_qualified(ctx.session, order.buyer_id, course.sku)
    order.qualified_at = order.qualified_at or event.occurred_at
    owed = payable(course.terms(), EventType.QUALIFIED, 1, new_customer=new_customer)
    seller = await ctx.session.get(Distributor, order.seller_id) if order.seller_id else None
    payouts = await _book(ctx, event, order, seller, owed.pool, owed.margin)
    return Accepted(
        order.id,
        {
            "note": owed.note,
            "payouts": [{"distributor": code, "kind": p.kind.value, "amount": str(p.amount)} for code, p in payouts],
        },
    )


async def _checkin_completed(ctx: Context, event: OrderEventIn, course: CourseSettings, order: Order) -> Accepted:
    if course.type is not CourseKind.CHECKIN_CASHBACK:
        raise _invalid("not_checkin", f"{course.sku} is not a check-in cashback course", "type")
    order.checkins_completed_at = order.checkins_completed_at or event.occurred_at
    return Accepted(order.id, {"note": "cashback_claws_nothing_back"})


async def _write_lines(ctx: Context, order: Order, event: OrderEventIn, lines: list[CoreLine[int]]) -> None:
    detail = {"refunded": str(event.amount), "paid": str(order.amount)}
    ctx.session.add_all(
        LedgerLine.from_core(line, order_id=order.id, event_id=event.event_id, detail=detail) for line in lines
    )

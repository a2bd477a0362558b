"""Order events: one event, one transaction.

A paid order is attributed through core (fan lock, self-purchase, bound trials), split through
core, written as ledger lines, takes stock with an UPDATE that cannot go below zero, records
each stock threshold crossed exactly once, and queues what it causes — a relay line in the
brand's groups during a push, red-packet announcements, an "you earned …" DM to each payee, a
congratulation when someone levels up — in the outbox, all in the caller's unit of work.
A refund reverses through core the same way. Anything wrong raises :class:`Rejected` before
the unit of work commits, so nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from bot.base.config import CourseSettings
from bot.base.context import Context
from bot.base.outbox import post_to_brand_groups, queue_text
from core.attribution import Why, attribute, bound_seller
from core.commission import Party, Payout, split_sale
from core.entry import Applicant, Outcome, Path, decide_entry
from core.group_ops import thresholds_reached
from core.ledger import Entry, Reason, claw_back
from core.ledger import LedgerLine as CoreLine
from core.products import CourseKind, EventType, payable
from core.upgrade import Climber, climb, metrics_needed
from models import ingest
from models import queries as q
from models.catalog import RedPacket, RelayLine
from models.orders import LedgerLine, Order
from models.people import Buyer, Distributor, FanLock
from services.codes import new_code
from services.order_events import OrderEventIn


class Rejected(Exception):
    """The event is refused; nothing is written. ``http`` is 409 or 422; ``field`` is the
    field of the event the refusal is about."""

    def __init__(self, code: str, reason: str, http: int = 422, field: str = "body"):
        super().__init__(reason)
        self.code, self.reason, self.http, self.field = code, reason, http, field


class Duplicate(Exception):
    """The event (or the order it pays) was already recorded; nothing changes."""


@dataclass
class Accepted:
    order_id: str
    detail: dict[str, Any] = field(default_factory=dict)


async def handle_order_event(ctx: Context, event: OrderEventIn, source: str = "webhook") -> Accepted:
    session = ctx.session
    course = ctx.settings.courses.get(event.course_sku)
    if course is None:
        raise Rejected("unknown_sku", f"unknown course sku {event.course_sku!r}", field="course_sku")
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
        raise Duplicate(event.event_id)
    if event.type is EventType.PAID:
        return await _paid(ctx, event, course)
    # Locked: two refunds of one order at once must not both pass the checks below.
    order = await session.get(Order, event.order_id, with_for_update=True)
    if order is None:
        raise Rejected(
            "unknown_order", f"no paid order {event.order_id!r} to apply a {event.type} event to", field="order_id"
        )
    if order.course_sku != course.sku:
        raise Rejected(
            "sku_mismatch", f"order {order.id} is for {order.course_sku}, not {course.sku}", field="course_sku"
        )
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
    own = own if own is not None and own.status == "active" else None
    bound = (
        bound_seller(await q.bound_trials(session, event.buyer.id, course.sku))
        if course.sku in settings.bound_targets
        else None
    )
    attribution = attribute(
        rule=settings.fan_lock,
        now=event.occurred_at,
        history=await q.lock_history(session, event.buyer.id) if own is None else (),
        ref_distributor=_id(ref) if ref is not None and ref.status == "active" else None,
        buyer_distributor=_id(own) if own is not None else None,
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
    if seller is not None and seller.status != "active":
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
        await _check_upgrade(ctx, seller)
    if own is None:
        await _maybe_enter_by_purchase(ctx, event.buyer.id, event.buyer.name, purchases, seller)

    # Last, the two rows every concurrent order of this course (or brand, during a push)
    # contends for: taken here, their locks are held only until the commit that follows.
    taken = await ingest.take_stock(session, course.sku, event.quantity)
    if taken is None:
        left = await ingest.stock_of(session, course.sku)
        raise Rejected("out_of_stock", f"only {left} left of {course.sku}, {event.quantity} ordered", http=409)
    stock_left, epoch, thresholds = taken
    # What the order causes in the brand's groups is queued in causal order: its relay line,
    # then the red packet its stock reached (the sender keeps a room's messages in this order).
    if seller is not None:
        await _relay(ctx, brand_id, order, seller, course)
    if stock_left is not None:
        await _thresholds_crossed(ctx, course, brand_id, stock_left + event.quantity, stock_left, epoch, thresholds)
    return Accepted(
        order.id,
        {
            "seller": seller.code if seller else None,
            "attribution": attribution.why.value,
            "payouts": [{"distributor": code, "kind": p.kind.value, "amount": str(p.amount)} for code, p in payouts],
            "stock": stock_left,
        },
    )


async def _relay(ctx: Context, brand_id: str, order: Order, seller: Distributor, course: CourseSettings) -> None:
    """During the brand's open push, the order's numbered line: recorded (the push's boards
    and final list are built from these lines) and queued for every group of the brand."""
    relay = await ingest.next_relay_line(ctx.session, brand_id)
    if relay is None:
        return
    push_id, number = relay
    order.push_id = push_id
    ctx.session.add(
        RelayLine(
            push_id=push_id,
            number=number,
            order_id=order.id,
            seller_id=seller.id,
            amount=order.amount,
            quantity=order.quantity,
            relayed_at=ctx.now,
        )
    )
    data = {"number": number, "seller": seller.name, "course": course.name, "quantity": order.quantity}
    await post_to_brand_groups(ctx, brand_id, "relay_line", data, coalesce="relay")


async def _book(
    ctx: Context, event: OrderEventIn, order: Order, seller: Distributor | None, pool: Decimal, margin: Decimal
) -> list[tuple[str, Payout]]:
    """Split ``pool`` for this order's seller, write earned lines, DM each payee."""
    if seller is None or seller.status != "active" or (pool == 0 and margin == 0):
        return []  # an inactive seller's share stays with the platform, whatever the event
    recruiter = await ctx.session.get(Distributor, seller.recruiter_id) if seller.recruiter_id else None
    if recruiter is not None and recruiter.status != "active":
        recruiter = None
    split = split_sale(
        ctx.settings.plan,
        pool,
        Party(_id(seller), seller.level),
        Party(_id(recruiter), recruiter.level) if recruiter else None,
        margin=margin,
    )
    people = {_id(seller): seller, **({_id(recruiter): recruiter} if recruiter else {})}
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
        raise Rejected(
            "refund_exceeds_paid",
            f"refund {event.amount} would exceed what is left of {order.amount} paid"
            f" ({order.amount - order.refunded} after earlier refunds)",
            http=409,
        )
    if order.refunded_quantity + event.quantity > order.quantity:
        raise Rejected(
            "refund_quantity",
            f"order {order.id} has {order.quantity} units, {order.refunded_quantity} already returned;"
            f" {event.quantity} more cannot be",
            field="quantity",
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
    await _dm_clawbacks(ctx, order, event.amount, lines)
    return Accepted(order.id, {"clawed_back": [{"kind": ln.kind.value, "amount": str(ln.amount)} for ln in lines]})


async def _qualified(ctx: Context, event: OrderEventIn, course: CourseSettings, order: Order) -> Accepted:
    if course.type is not CourseKind.CPA:
        raise Rejected("not_cpa", f"{course.sku} is not a CPA course; only CPA orders qualify", field="type")
    if order.refunded >= order.amount > 0:
        raise Rejected("refunded", f"order {order.id} was refunded", http=409)
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
        raise Rejected("not_checkin", f"{course.sku} is not a check-in cashback course", field="type")
    order.checkins_completed_at = order.checkins_completed_at or event.occurred_at
    return Accepted(order.id, {"note": "cashback_claws_nothing_back"})


async def _write_lines(ctx: Context, order: Order, event: OrderEventIn, lines: list[CoreLine]) -> None:
    detail = {"refunded": str(event.amount), "paid": str(order.amount)}
    ctx.session.add_all(
        LedgerLine.from_core(line, order_id=order.id, event_id=event.event_id, detail=detail) for line in lines
    )


async def _dm_clawbacks(ctx: Context, order: Order, refunded: Decimal, lines: list[CoreLine]) -> None:
    course = ctx.settings.courses[order.course_sku]
    by_payee: dict[str, list[CoreLine]] = {}
    for line in lines:
        if line.entry is not Entry.SETTLED:
            by_payee.setdefault(line.payee, []).append(line)
    for payee, mine in by_payee.items():
        person = await ctx.session.get(Distributor, int(payee))
        if person is None or not person.contact_id:
            continue
        queue_text(
            ctx,
            target=person.contact_id,
            account=person.helper_account,
            template="clawback_dm",
            data={
                "order_id": order.id,
                "course": course.name,
                "refunded": refunded,
                "lines": [
                    {"kind": ln.kind.value, "amount": ln.amount, "after_settlement": ln.entry is Entry.ADJUSTED}
                    for ln in mine
                ],
            },
        )


async def _thresholds_crossed(
    ctx: Context, course: CourseSettings, brand_id: str, before: int, after: int, epoch: int, thresholds: list[int]
) -> None:
    """Stock went from ``before`` to ``after``: each threshold this order reaches
    (:func:`core.group_ops.thresholds_reached`) is reached by it alone (the stock UPDATE
    serialises orders), so it is recorded and announced once."""
    crossed = thresholds_reached(before, after, thresholds)
    if not crossed:
        return
    brand = ctx.settings.brands[brand_id]
    groups = await q.brand_groups(ctx.session, brand_id)
    for threshold in crossed:
        ctx.session.add(
            RedPacket(
                brand_id=brand_id,
                reason="threshold",
                course_sku=course.sku,
                stock_epoch=epoch,
                threshold=threshold,
                created_at=ctx.now,
            )
        )
        data = {"course": course.name, "threshold": threshold, "stock": after, "brand": brand.name}
        await post_to_brand_groups(ctx, brand_id, "red_packet_announcement", data)
        for manager in brand.managers:
            queue_text(
                ctx,
                target=manager,
                template="red_packet_manager_dm",
                data={**data, "groups": [g.name for g in groups]},
            )


async def _check_upgrade(ctx: Context, person: Distributor) -> None:
    """Climb every upgrade step the person now meets; a level-up changes their recruiter's VIP
    counts, so the recruiter is looked at next, and so on (:func:`core.upgrade.climb`). Each
    one's metrics are read before any level changes; the chain grows only while its top climbs."""
    settings = ctx.settings
    people = [person]
    chain = [await _climber(ctx, person)]
    while True:
        ups = climb(chain, settings.upgrades, settings.vip_levels)
        top = people[-1]
        if len(ups) < len(chain) or top.recruiter_id is None or top.recruiter_id in {p.id for p in people}:
            break
        above = await ctx.session.get(Distributor, top.recruiter_id)
        if above is None:
            break
        people.append(above)
        chain.append(await _climber(ctx, above))
    for current, up in zip(people, ups, strict=False):
        current.level = up.to_level
        current.level_since = ctx.now
        if current.contact_id:
            queue_text(
                ctx,
                target=current.contact_id,
                account=current.helper_account,
                template="level_up_dm",
                data={"name": current.name, "level": up.to_level, "level_name": settings.levels[up.to_level].name},
            )


async def _climber(ctx: Context, person: Distributor) -> Climber:
    needed = metrics_needed(person.level, ctx.settings.upgrades)
    metrics = (
        await q.distributor_metrics(ctx.session, person.id, sorted(ctx.settings.vip_levels), only=needed)
        if needed
        else {}
    )
    return Climber(_id(person), person.level, metrics)


async def _maybe_enter_by_purchase(
    ctx: Context, buyer_id: str, name: str, purchases: Decimal, seller: Distributor | None
) -> None:
    """Automatic entry at the lowest level once the buyer's purchases reach the threshold;
    the recruiter is the distributor the buyer is locked to."""
    rules = ctx.settings.entry
    if Path.PURCHASE not in rules.paths:
        return
    locked_to = _id(seller) if seller is not None else None  # the (active) distributor who sold to them
    decision = decide_entry(Applicant(person=buyer_id, self_purchase_total=purchases, locked_to=locked_to), rules)
    if decision.outcome is not Outcome.ADMITTED or decision.path is not Path.PURCHASE:
        return  # only the purchase path enrols a buyer here; codes, reach and open entry are asked for
    ctx.session.add(
        Distributor(
            code=new_code(),
            name=name,
            buyer_id=buyer_id,
            level=ctx.settings.level_codes[0],
            recruiter_id=int(decision.recruiter) if decision.recruiter else None,
            entry_path=Path.PURCHASE.value,
            joined_at=ctx.now,
            level_since=ctx.now,
        )
    )


def _id(person: Distributor) -> str:
    return str(person.id)

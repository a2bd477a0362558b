"""Order events: one event, one transaction.

The event goes through the one order sequence (:func:`core.order_sequence.apply`, the same
steps a what-if replay takes) over the SQL port (:class:`services.order_store.SqlOrders`): a
paid order is attributed through core (fan lock, self-purchase, bound trials), split through
core, written as ledger lines, takes stock with an UPDATE that cannot go below zero, records
each stock threshold crossed exactly once, and queues what it causes — a relay line in the
brand's groups during a push, red-packet announcements, an "you earned …" DM to each payee, a
congratulation when someone levels up (:mod:`services.order_store`, :mod:`services.order_effects`) —
in the outbox, all in the caller's unit of work. A refund reverses through core the same way.
This module turns the received event into the sequence's, its outcome into :class:`Accepted`
and its refusals into service errors.

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
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.base.context import Context
from bot.base.env import Env
from core.commission import Payout
from core.order_sequence import Event, Outcome, Refusal, RefusalKind, apply
from core.products import EventType
from models.orders import Order, OrderEvent
from services.errors import Conflict, Duplicate, Invalid, Refused, ServiceError
from services.order_events import OrderEventIn
from services.order_sets import BatchOrders
from services.order_store import SqlOrders

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
    log_accepted(event, accepted, source)
    return accepted


def log_accepted(event: OrderEventIn, accepted: Accepted, source: str) -> None:
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


def event_of(event: OrderEventIn) -> Event:
    """The received event as the order sequence takes it."""
    return Event(
        event_id=event.event_id,
        type=event.type,
        order_id=event.order_id,
        sku=event.course_sku,
        at=event.occurred_at,
        quantity=event.quantity,
        amount=event.amount,
        buyer=event.buyer.id if event.buyer is not None else None,
        ref=event.ref,
    )


async def handle_order_event(
    ctx: Context, event: OrderEventIn, source: str = "webhook", port: SqlOrders | BatchOrders | None = None
) -> Accepted:
    """Run ``event`` through the order sequence in ``ctx``'s unit of work (over ``port`` when
    several events share it: :mod:`services.order_batch`)."""
    port = port or SqlOrders(ctx, source, {event.event_id: event})
    try:
        outcome = await apply(port, event_of(event), ctx.settings.order_terms)
    except Refusal as refusal:
        if isinstance(port, BatchOrders):
            port.refused()  # the event leaves nothing behind in the batch (or the batch falls back)
        raise _error(refusal, event) from None
    if isinstance(port, BatchOrders):
        port.done()
    return _accepted(event, outcome, port)


def _error(refusal: Refusal, event: OrderEventIn) -> ServiceError:
    if refusal.kind is RefusalKind.DUPLICATE:
        return _duplicate(event)
    if refusal.kind is RefusalKind.INVALID:
        return _invalid(refusal.code, refusal.message, refusal.field or "body")
    if refusal.kind is RefusalKind.CONFLICT:
        return Conflict(refusal.message, code=refusal.code)
    return Refused(refusal.message, code=refusal.code)


def _accepted(event: OrderEventIn, outcome: Outcome, port: SqlOrders | BatchOrders) -> Accepted:
    """What the answer says of an accepted event."""
    order_id = outcome.order.id if outcome.order is not None else event.order_id
    if event.type is EventType.REFUNDED:
        clawed = [{"kind": ln.kind, "amount": str(ln.amount)} for ln in outcome.clawed_back]
        return Accepted(order_id, {"clawed_back": clawed})
    if event.type is EventType.CHECKIN_COMPLETED:
        return Accepted(order_id, {"note": outcome.note})
    payouts = [_payout(port, p) for p in outcome.payouts]
    if event.type is EventType.QUALIFIED:
        return Accepted(order_id, {"note": outcome.note, "payouts": payouts})
    return Accepted(
        order_id,
        {
            "seller": port.code(outcome.seller.id) if outcome.seller is not None else None,
            "attribution": outcome.why.value if outcome.why is not None else None,
            "payouts": payouts,
            "stock": outcome.stock_left,
        },
    )


def _payout(port: SqlOrders | BatchOrders, payout: Payout) -> dict[str, str]:
    return {"distributor": port.code(payout.payee), "kind": payout.kind.value, "amount": str(payout.amount)}

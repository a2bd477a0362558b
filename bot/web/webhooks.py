"""``POST /webhooks/orders``: the shop's order events, signed.

The signature is HMAC-SHA256 over ``timestamp + "." + raw body`` with the shared secret, in
``X-Distbot-Signature: sha256=<hex>``; ``X-Distbot-Timestamp`` is Unix seconds and must be
within ±300 s (configurable). A bad signature or stale timestamp → 401, nothing written; a
replayed event id → 200 duplicate; a malformed body (an unknown sku, a time more than
five minutes ahead included) → 422 listing every problem as ``field: problem``; an event the
data refuses (unknown order → 422 in the same form; not enough stock, refund beyond what was
paid → 409) with the reason; accepted → 200 with what happened.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from bot.base.env import Services
from bot.base.jsonutil import body_problem, loads
from bot.web.errors import reply
from bot.web.keys import SERVICES
from core.products import EventType
from models.orders import Order, OrderEvent
from services.order_events import OrderEventIn, parse_event
from services.orders import Duplicate, Rejected, handle_order_event

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
routes = web.RouteTableDef()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_problem(services: Services, headers: dict[str, str] | object, body: bytes) -> str | None:
    secret = services.settings.webhook_secret
    if not secret:
        return "the webhook secret is not configured"
    get = headers.get  # type: ignore[attr-defined]
    timestamp, signature = get("X-Distbot-Timestamp", ""), get("X-Distbot-Signature", "")
    if not timestamp or not signature:
        return "missing X-Distbot-Timestamp or X-Distbot-Signature"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "X-Distbot-Timestamp must be Unix seconds"
    tolerance = services.settings.raw.webhook.tolerance_seconds
    if abs(services.clock.now().timestamp() - sent_at) > tolerance:
        return f"timestamp outside ±{tolerance} s"
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode()):
        return "signature does not match"
    return None


@routes.post("/webhooks/orders")
async def receive_order(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    if request.content_length is not None and request.content_length > MAX_BODY:
        return reply({"status": "rejected", "reason": f"body larger than {MAX_BODY} bytes"}, 413)
    body = await request.content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return reply({"status": "rejected", "reason": f"body larger than {MAX_BODY} bytes"}, 413)
    problem = signature_problem(services, request.headers, body)
    if problem:
        return reply({"status": "unauthorized", "reason": problem}, 401)
    try:
        data = loads(body)
    except ValueError as error:
        return reply({"status": "rejected", "errors": [body_problem(error)]}, 422)
    event, errors = parse_event(data, now=services.clock.now(), skus=services.settings.courses)
    if event is None:
        return reply({"status": "rejected", "errors": errors}, 422)
    return await ingest(services, event)


@dataclass(frozen=True)
class Outcome:
    """What became of one event: ``status`` (accepted | duplicate | rejected), the HTTP status
    the webhook answers with, and the JSON payload it sends (which repeats ``status``)."""

    status: str
    http: int
    payload: dict[str, Any]


async def process_event(services: Services, event: OrderEventIn, source: str = "webhook") -> Outcome:
    """Run one event in its own unit of work: the one path of the webhook and of a back-fill."""
    duplicate = Outcome(
        "duplicate", 200, {"status": "duplicate", "event_id": event.event_id, "order_id": event.order_id}
    )
    try:
        async with services.context() as ctx:
            accepted = await handle_order_event(ctx, event, source)
    except Duplicate:
        return duplicate
    except Rejected as refusal:
        payload = {"status": "rejected", "code": refusal.code, "reason": refusal.reason}
        if refusal.http == 422:  # listed as every malformed body lists its problems
            payload["errors"] = [f"{refusal.field}: {refusal.reason}"]
        return Outcome("rejected", refusal.http, payload)
    except IntegrityError:
        # A concurrent delivery of the same event or order won the race: that is a replay.
        async with services.db.reading() as session:
            if await session.get(OrderEvent, event.event_id) or (
                event.type is EventType.PAID and await session.get(Order, event.order_id)
            ):
                return duplicate
        raise
    payload = {"status": "accepted", "event_id": event.event_id, "order_id": accepted.order_id, **accepted.detail}
    _log_accepted(event, payload, source)
    return Outcome("accepted", 200, payload)


def _log_accepted(event: OrderEventIn, payload: dict[str, Any], source: str) -> None:
    """One line per accepted event (a back-fill's lines are debug: its summary says it all)."""
    paid = ", ".join(f"{p['distributor']} {p['kind']} {p['amount']}" for p in payload.get("payouts", ())) or "nobody"
    log.log(
        logging.INFO if source == "webhook" else logging.DEBUG,
        "order %s: %s event %s accepted (%s): %s ×%d, %s; seller %s; paid %s",
        payload["order_id"],
        event.type.value,
        event.event_id,
        source,
        event.course_sku,
        event.quantity,
        event.amount,
        payload.get("seller") or "—",
        paid,
    )


async def ingest(services: Services, event: OrderEventIn, source: str = "webhook") -> web.Response:
    """Run one event in its own unit of work and answer as the webhook does."""
    outcome = await process_event(services, event, source)
    return reply(outcome.payload, outcome.http)

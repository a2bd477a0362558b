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
import time
from collections.abc import Mapping

from aiohttp import web

from bot.base.env import Env
from bot.base.jsonutil import body_problem, loads
from bot.base.logs import trace
from bot.base.metrics import Metrics
from bot.web.errors import error_response, reply
from bot.web.keys import ENV
from services.errors import Invalid, ServiceError
from services.order_batch import OrderBatcher
from services.order_events import OrderEventIn, parse_event

MAX_BODY = 64 * 1024
routes = web.RouteTableDef()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_problem(env: Env, headers: Mapping[str, str], body: bytes) -> str | None:
    secret = env.settings.webhook_secret
    if not secret:
        return "the webhook secret is not configured"
    timestamp, signature = headers.get("X-Distbot-Timestamp", ""), headers.get("X-Distbot-Signature", "")
    if not timestamp or not signature:
        return "missing X-Distbot-Timestamp or X-Distbot-Signature"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "X-Distbot-Timestamp must be Unix seconds"
    tolerance = env.settings.raw.webhook.tolerance_seconds
    if abs(env.clock.now().timestamp() - sent_at) > tolerance:
        return f"timestamp outside ±{tolerance} s"
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode()):
        return "signature does not match"
    return None


@routes.post("/webhooks/orders")
async def receive_order(request: web.Request) -> web.Response:
    env = request.app[ENV]
    if request.content_length is not None and request.content_length > MAX_BODY:
        return reply({"status": "rejected", "reason": f"body larger than {MAX_BODY} bytes"}, 413)
    body = await request.content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return reply({"status": "rejected", "reason": f"body larger than {MAX_BODY} bytes"}, 413)
    problem = signature_problem(env, request.headers, body)
    if problem:
        return reply({"status": "unauthorized", "reason": problem}, 401)
    try:
        data = loads(body)
    except ValueError as error:
        raise Invalid([body_problem(error)]) from None
    event, errors = parse_event(data, now=env.clock.now(), skus=env.settings.courses)
    if event is None:
        raise Invalid(errors)
    trace.set(request.headers.get("X-Request-Id") or f"webhook:{event.event_id}")  # this request's task only
    return await ingest(env, event)


async def ingest(env: Env, event: OrderEventIn, source: str = "webhook") -> web.Response:
    """Run one event — in a transaction shared with those arriving at the same moment
    (:class:`services.order_batch.OrderBatcher`), answered once it has committed — and answer
    as the webhook does: 200 with what happened, a replay 200 ``duplicate``, a refusal 409 or
    422 (``bot.web.errors``)."""
    started = time.perf_counter()
    latency = env.kept(Metrics).order_latency
    try:
        accepted = await env.kept(OrderBatcher).submit(event, source)
    except ServiceError as error:
        latency.labels(type(error).__name__).observe(time.perf_counter() - started)
        return error_response(error)
    latency.labels("accepted").observe(time.perf_counter() - started)
    return reply({"status": "accepted", "event_id": event.event_id, "order_id": accepted.order_id, **accepted.detail})

"""The aiohttp application: the order webhook, the ops APIs and the health endpoints behind the
error boundary of ``bot.web.errors`` (JSON and a log line, never a stack trace) and the ops
token check. The composition root (``bot.app.web_app``) adds the console's pages and the
transport's own routes."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from aiohttp import web

from bot.base.env import Env
from bot.runtime.health import Health
from bot.web import (
    audit_api,
    colearning_api,
    moderation_api,
    ops_api,
    ops_queue_api,
    red_packets_api,
    webhooks,
    withdrawals_api,
)
from bot.web.errors import Handler, error_boundary, reply
from bot.web.health import healthz, readyz
from bot.web.keys import ENV, HEALTH
from bot.web.metrics import metrics


@web.middleware
async def ops_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``/api/…`` needs ``Authorization: Bearer <admin token>``."""
    if request.path.startswith("/api/"):
        token = request.app[ENV].settings.admin_token
        given = request.headers.get("Authorization", "")
        if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return reply({"status": "unauthorized", "reason": "a valid Authorization: Bearer token is required"}, 401)
    return await handler(request)


def make_app(
    env: Env, health: Health, routes: Iterable[Iterable[web.AbstractRouteDef]] = ()
) -> web.Application:
    """The application with the API's routes, and ``routes`` (the console's, a transport's)."""
    app = web.Application(middlewares=[error_boundary, ops_auth], client_max_size=1024 * 1024)
    app[ENV] = env
    app[HEALTH] = health
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.add_routes(webhooks.routes)
    app.add_routes(ops_api.routes)
    app.add_routes(ops_queue_api.routes)
    app.add_routes(red_packets_api.routes)
    app.add_routes(colearning_api.routes)
    app.add_routes(audit_api.routes)
    app.add_routes(withdrawals_api.routes)
    app.add_routes(moderation_api.routes)
    for more in routes:
        app.add_routes(more)
    return app

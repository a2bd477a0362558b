"""The aiohttp application: webhooks, the ops API, health, and an error boundary that answers
with JSON and logs, never with a stack trace. A request that meets a database outage answers
503 with ``Retry-After`` (nothing was written) and is not logged one by one: the outage is
logged once when it starts and once when it ends (``bot.base.faults``)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.base.env import SERVICES, Services
from bot.base.faults import database_unavailable
from bot.base.jsonutil import reply
from bot.base.transport import Transport
from bot.console import console_routes
from bot.runtime.health import HEALTH, Health, healthz, readyz
from bot.web import colearning_api, ops_api, ops_queue_api, red_packets_api, webhooks

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_boundary(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as error:
        if database_unavailable(error):
            body = {"status": "unavailable", "reason": "the database cannot be reached; nothing was written, try again"}
            response = reply(body, 503)
            response.headers["Retry-After"] = "5"
            return response
        log.exception("unhandled error on %s %s", request.method, request.path)
        return reply({"status": "error", "reason": "internal error; it has been logged"}, 500)


@web.middleware
async def ops_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``/api/…`` needs ``Authorization: Bearer <admin token>``."""
    if request.path.startswith("/api/"):
        token = request.app[SERVICES].settings.admin_token
        given = request.headers.get("Authorization", "")
        if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return reply({"status": "unauthorized", "reason": "a valid Authorization: Bearer token is required"}, 401)
    return await handler(request)


def make_app(
    services: Services, transport: Transport | None = None, health: Health | None = None
) -> web.Application:
    app = web.Application(middlewares=[error_boundary, ops_auth], client_max_size=1024 * 1024)
    app[SERVICES] = services
    app[HEALTH] = health or Health(services, transport)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.add_routes(webhooks.routes)
    app.add_routes(ops_api.routes)
    app.add_routes(ops_queue_api.routes)
    app.add_routes(red_packets_api.routes)
    app.add_routes(colearning_api.routes)
    app.add_routes(console_routes())
    if transport is not None and transport.name == "sim":
        from bot.transports.sim_web import sim_routes

        app.add_routes(sim_routes(transport))  # type: ignore[arg-type]
    return app

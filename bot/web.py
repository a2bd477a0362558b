"""The aiohttp application: webhooks, the ops API, and an error boundary that answers with
JSON and logs, never with a stack trace."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot import colearning_api, ops_api, ops_queue_api, ops_red_packets_api, webhooks
from bot.console import console_routes
from bot.jsonutil import reply
from bot.services import SERVICES, Services
from bot.transport import Transport

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_boundary(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
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


async def health(request: web.Request) -> web.Response:
    return reply({"status": "ok"})


def make_app(services: Services, transport: Transport | None = None) -> web.Application:
    app = web.Application(middlewares=[error_boundary, ops_auth], client_max_size=1024 * 1024)
    app[SERVICES] = services
    app.router.add_get("/healthz", health)
    app.add_routes(webhooks.routes)
    app.add_routes(ops_api.routes)
    app.add_routes(ops_queue_api.routes)
    app.add_routes(ops_red_packets_api.routes)
    app.add_routes(colearning_api.routes)
    app.add_routes(console_routes())
    if transport is not None and transport.name == "sim":
        from bot.transports.sim_web import sim_routes

        app.add_routes(sim_routes(transport))  # type: ignore[arg-type]
    return app

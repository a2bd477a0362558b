"""``GET /healthz`` and ``GET /readyz``: what :class:`bot.runtime.health.Health` finds, as JSON
(503 when the process cannot do its job, or cannot take web traffic)."""

from __future__ import annotations

from aiohttp import web

from bot.web.errors import reply
from bot.web.keys import HEALTH


async def healthz(request: web.Request) -> web.Response:
    report = await request.app[HEALTH].report()
    return reply(report, 200 if report["status"] == "ok" else 503)


async def readyz(request: web.Request) -> web.Response:
    ready, reason = await request.app[HEALTH].ready()
    return reply({"status": "ready" if ready else "not ready", "reason": reason}, 200 if ready else 503)

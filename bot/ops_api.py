"""The ops API (``Authorization: Bearer <token>``): earnings, progress, leaderboards, stock."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()

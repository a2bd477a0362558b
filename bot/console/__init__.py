"""The ops console (运营后台): server-rendered pages under ``/console`` for ops and brand
managers, behind a login. Mounted by ``bot.web.app`` with ``app.add_routes(console_routes())``."""

from __future__ import annotations

from aiohttp import web


def console_routes() -> list[web.AbstractRouteDef]:
    from bot.console import friend_pages, ops_pages, outbox_pages, pages

    return [*pages.routes, *ops_pages.routes, *outbox_pages.routes, *friend_pages.routes]

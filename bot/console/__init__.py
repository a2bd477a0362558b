"""The ops console (运营后台): server-rendered pages under ``/console`` for ops and brand
managers, behind a login. Its pages read the tables, call services for every change, and show
a service's refusal on the page. Mounted by the composition root (``bot.app.web_app``) with
``console_routes()``.

May import: ``bot.web`` (the application keys, the status of an error), ``bot.runtime``,
``services``, ``bot.base``, ``models``, ``core`` — never ``handlers``, ``bot.cli`` or a
transport's module."""

from __future__ import annotations

from aiohttp import web


def console_routes() -> list[web.AbstractRouteDef]:
    from bot.console import (
        audit_pages,
        friend_pages,
        moderation_pages,
        moderation_rules_pages,
        ops_pages,
        outbox_pages,
        pages,
        withdrawal_pages,
    )

    return [
        *pages.routes,
        *ops_pages.routes,
        *outbox_pages.routes,
        *friend_pages.routes,
        *audit_pages.routes,
        *withdrawal_pages.routes,
        *moderation_pages.routes,
        *moderation_rules_pages.routes,
    ]

"""Ops API for the audit log and the one change it is most often read for:

- ``GET /api/audit?actor=&kind=&brand=&since=YYYY-MM-DD&until=YYYY-MM-DD&before=ID`` — the newest
  100 entries matching (newest first; ``before`` pages back); 422 for an unknown kind or a bad day;
- ``POST /api/brands/{id}/stock`` ``{"sku": "…", "stock": 200, "by": "…"}`` — a course's stock set
  (the same use case as “库存 SKU N” in the group and the console's form, recorded in the log).

There is no route that changes or removes an entry."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from bot.base.jsonutil import body_problem, loads
from bot.web.errors import reply
from bot.web.keys import ENV, api_actor
from services import audit
from services.errors import Invalid
from services.stock import set_stock

routes = web.RouteTableDef()


@routes.get("/api/audit")
async def audit_log(request: web.Request) -> web.Response:
    q, errors = request.query, []
    days: dict[str, date | None] = {}
    for name in ("since", "until"):
        try:
            days[name] = date.fromisoformat(q[name]) if q.get(name) else None
        except ValueError:
            errors.append(f"{name}: a day as YYYY-MM-DD")
    kind = q.get("kind") or None
    if kind is not None and kind not in audit.KINDS:
        errors.append(f"kind: one of {', '.join(audit.KINDS)}")
    before = q.get("before", "")
    if before and not (before.isascii() and before.isdigit() and len(before) <= 12):
        errors.append("before: an entry id")
    if errors:
        raise Invalid(errors)
    chosen = audit.AuditFilter(
        actor=q.get("actor") or None,
        kind=kind,
        brand_id=q.get("brand") or None,
        since=days["since"],
        until=days["until"],
        before_id=int(before) if before else None,
    )
    env = request.app[ENV]
    async with env.db.reading() as session:
        rows = await audit.entries(session, env.settings, chosen)
    return reply({"entries": rows, "more": len(rows) == audit.PAGE})


@routes.post("/api/brands/{brand_id}/stock")
async def stock(request: web.Request) -> web.Response:
    shape = 'body must be {"sku": "…", "stock": 200, "by": "…"}'
    try:
        body = loads(await request.read())
    except ValueError as error:
        raise Invalid([body_problem(error), shape]) from None
    if not isinstance(body, dict) or not isinstance(body.get("sku"), str):
        raise Invalid([shape])
    units = body.get("stock")
    if isinstance(units, bool) or not isinstance(units, int) or not 0 <= units <= 100_000_000:
        raise Invalid(["stock: a whole number from 0"])
    async with request.app[ENV].context(api_actor(body.get("by"))) as ctx:
        done = await set_stock(ctx, request.match_info["brand_id"], body["sku"], units)
    return reply({"status": "set", "sku": done.sku, "before": done.before, "stock": done.stock})

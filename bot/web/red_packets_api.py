"""Ops API for red packets owed: stock thresholds crossed and order showcases (晒单). The bot
cannot send red packets; the course manager sends them and someone marks them paid here.

- ``GET /api/red-packets?status=owed|paid&brand=<id>`` — owed oldest first, paid newest first
  (at most 200): ``{"status", "brand", "count", "red_packets": [{"id", "brand": {"id", "name"},
  "reason": "threshold"|"showcase", "course": {"sku", "name"}|null, "threshold", "stock_epoch",
  "order": {"id", "quantity", "amount", "seller": {"code", "name"}|null}|null, "created_at",
  "paid_at", "paid_by"}]}``; 422 for another status, 404 for an unknown brand.
- ``POST /api/red-packets/{id}/paid`` with ``{"by": "ops-xiaomei"}`` → 200 ``{"status": "paid",
  "id", "paid_at", "paid_by"}``; 409 when it already was (by whom, when); 404 unknown id; 422
  without ``by``.
"""

from __future__ import annotations

from aiohttp import web

from bot.base.jsonutil import loads, row_id
from bot.web.errors import reply
from bot.web.keys import ENV, api_actor
from services import red_packets as packets
from services.errors import Invalid, NotFound
from services.reports import local_zone

routes = web.RouteTableDef()
STATUSES = ("owed", "paid")


@routes.get("/api/red-packets")
async def red_packets(request: web.Request) -> web.Response:
    env = request.app[ENV]
    status = request.query.get("status", "owed")
    brand_id = request.query.get("brand") or None
    if status not in STATUSES:
        raise Invalid([f"status: {status!r} is not one of owed, paid"])
    async with env.db.reading() as session:
        items = await packets.listed(session, env.settings, paid=status == "paid", brand_id=brand_id)
    return reply({"status": status, "brand": brand_id, "count": len(items), "red_packets": items})


@routes.post("/api/red-packets/{id}/paid")
async def mark_paid(request: web.Request) -> web.Response:
    env = request.app[ENV]
    packet_id = row_id(request.match_info["id"])
    if packet_id is None:
        raise NotFound("no such red packet")
    try:
        body = loads(await request.read() or b"{}")
        by = body["by"].strip() if isinstance(body, dict) and isinstance(body.get("by"), str) else ""
    except ValueError:
        by = ""
    if not by or len(by) > 64:
        raise Invalid(['body must be {"by": "<who sent it>"} (1–64 characters)'])
    async with env.context(api_actor(by)) as ctx:
        packet = await packets.mark_paid(ctx, packet_id, by)
        paid_at = ctx.now.astimezone(local_zone(env.settings))
    return reply({"status": "paid", "id": packet.id, "paid_at": paid_at, "paid_by": by})

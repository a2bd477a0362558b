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

from typing import Any

from aiohttp import web

from bot.base.jsonutil import loads, row_id
from bot.web.errors import reply
from bot.web.keys import SERVICES
from models import queries as q
from models.catalog import Brand, RedPacket
from services.reports import local_zone

routes = web.RouteTableDef()
STATUSES = ("owed", "paid")


@routes.get("/api/red-packets")
async def red_packets(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    status = request.query.get("status", "owed")
    brand_id = request.query.get("brand") or None
    if status not in STATUSES:
        return reply({"status": "rejected", "errors": [f"status: {status!r} is not one of owed, paid"]}, 422)
    zone = local_zone(services.settings)
    async with services.db.reading() as session:
        if brand_id is not None and await session.get(Brand, brand_id) is None:
            return reply({"status": "not_found", "reason": f"no brand has the id {brand_id!r}"}, 404)
        rows = await q.red_packets_owed(session, status == "paid", brand_id)
    items: list[dict[str, Any]] = []
    for packet, brand_name, course_name, order, seller in rows:
        items.append(
            {
                "id": packet.id,
                "brand": {"id": packet.brand_id, "name": brand_name},
                "reason": packet.reason,
                "course": {"sku": packet.course_sku, "name": course_name} if packet.course_sku else None,
                "threshold": packet.threshold,
                "stock_epoch": packet.stock_epoch,
                "order": {
                    "id": order.id,
                    "quantity": order.quantity,
                    "amount": order.amount,
                    "seller": {"code": seller.code, "name": seller.name} if seller else None,
                }
                if order is not None
                else None,
                "created_at": packet.created_at.astimezone(zone),
                "paid_at": packet.paid_at.astimezone(zone) if packet.paid_at else None,
                "paid_by": packet.paid_by,
            }
        )
    return reply({"status": status, "brand": brand_id, "count": len(items), "red_packets": items})


@routes.post("/api/red-packets/{id}/paid")
async def mark_paid(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    packet_id = row_id(request.match_info["id"])
    if packet_id is None:
        return reply({"status": "not_found", "reason": "no such red packet"}, 404)
    try:
        body = loads(await request.read() or b"{}")
        by = body["by"].strip() if isinstance(body, dict) and isinstance(body.get("by"), str) else ""
    except ValueError:
        by = ""
    if not by or len(by) > 64:
        return reply({"status": "rejected", "errors": ['body must be {"by": "<who sent it>"} (1–64 characters)']}, 422)
    zone = local_zone(services.settings)
    async with services.context() as ctx:
        packet = await ctx.session.get(RedPacket, packet_id)
        if packet is None:
            return reply({"status": "not_found", "reason": "no such red packet"}, 404)
        if not await q.mark_red_packet_paid(ctx.session, packet.id, by, ctx.now):
            await ctx.session.refresh(packet)
            paid_at = packet.paid_at.astimezone(zone) if packet.paid_at else None
            return reply(
                {"status": "rejected", "reason": "already marked paid", "paid_at": paid_at, "paid_by": packet.paid_by},
                409,
            )
        paid_at = ctx.now.astimezone(zone)
    return reply({"status": "paid", "id": packet.id, "paid_at": paid_at, "paid_by": by})

"""Red packets owed (stock thresholds crossed, order showcases): the bot cannot send them, so the
course manager sends them by hand and someone marks them paid — through the ops API or the
console."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.config import Settings
from bot.base.context import Context
from models import queries as q
from models.catalog import Brand, RedPacket
from services import audit
from services.errors import Conflict, NotFound
from services.reports import local_zone


async def mark_paid(ctx: Context, packet_id: int, by: str) -> RedPacket:
    """Mark the red packet paid by ``by``, now. Raises NotFound for an unknown packet, Conflict
    when it was marked already (saying by whom and when, in the platform's time)."""
    packet = await ctx.session.get(RedPacket, packet_id)
    if packet is None:
        raise NotFound("no such red packet")
    if not await q.mark_red_packet_paid(ctx.session, packet.id, by, ctx.now):
        await ctx.session.refresh(packet)
        paid_at = packet.paid_at.astimezone(local_zone(ctx.settings)) if packet.paid_at else None
        raise Conflict("already marked paid", details={"paid_at": paid_at, "paid_by": packet.paid_by})
    audit.record(
        ctx,
        "money",
        "red_packet.paid",
        subject=f"red packet {packet.id}",
        brand_id=packet.brand_id,
        before={"paid": False},
        after={"paid": True, "by": by},
    )
    return packet


async def listed(
    session: AsyncSession, settings: Settings, *, paid: bool, brand_id: str | None
) -> list[dict[str, Any]]:
    """Red packets owed (oldest first) or paid (newest first, at most 200), of one brand or all;
    NotFound for an unknown brand. Times in the platform's timezone."""
    zone = local_zone(settings)
    if brand_id is not None and await session.get(Brand, brand_id) is None:
        raise NotFound(f"no brand has the id {brand_id!r}")
    rows = await q.red_packets_owed(session, paid, brand_id)
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
    return items

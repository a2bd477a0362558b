"""Order showcases (晒单) in brand groups: a distributor posts proof of an order and earns a
showcase red packet, which the course manager sends by hand (a personal account cannot).

What counts as a showcase — WeChat sends a picture and its caption as two messages:
- an image message whose text carries "晒单" (transports that keep a caption with the image);
- or the text "晒单" / "晒单 <订单号>" from someone who posted an image in the same room at most
  5 minutes before (core.group_ops.caption_pairs_with_image).
When each person last posted an image in each room is kept in the database (table
``marks``), so the pairing survives a restart and holds across processes; a pairing uses the
image up.

The order is the one named, else the sender's latest paid, unrefunded order of the room's
brand without a showcase; each order earns one showcase red packet (unique
``red_packets.showcase_order_id``). The group is told it is recorded, the brand's course
managers get a DM, and the packet is owed until marked paid (bot.web.red_packets_api).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from bot.base.config import BrandSettings
from bot.base.outbox import queue_text
from bot.base.transport import Message
from bot.runtime.router import MessageContext, Router, group
from core.group_ops import SHOWCASE_WINDOW, GroupCommand, caption_pairs_with_image, showcase_order_ref
from handlers.brand_groups import group_command, group_name, in_brand_group
from models import marks
from models import queries as q
from models.statuses import DistributorStatus

router = Router("red_packets")
SHOWCASE_WORD = "晒单"


def _image_key(room: str, sender: str) -> str:
    """The mark (table ``marks``) holding when ``sender`` last posted an image in ``room``."""
    key = f"showcase-image:{room}:{sender}"
    return key if len(key) <= 160 else "showcase-image:" + hashlib.sha256(key.encode()).hexdigest()


async def remember_image(ctx: MessageContext, room: str, sender: str, at: datetime) -> None:
    await marks.claim(ctx.session, _image_key(room, sender), at, every=timedelta(0))


async def take_image(ctx: MessageContext, room: str, sender: str, at: datetime) -> bool:
    """True (and the image forgotten) when the sender's last image here pairs with a caption at ``at``."""
    key = _image_key(room, sender)
    if not caption_pairs_with_image(await marks.last(ctx.session, key), at):
        return False
    await marks.forget(ctx.session, key)
    return True


def _image(ctx: MessageContext) -> bool:
    return ctx.message.kind == "image"


def _captioned(ctx: MessageContext) -> bool:
    return SHOWCASE_WORD in (ctx.message.text or "")


@router.message(group, in_brand_group, _image, _captioned)
async def image_with_caption(ctx: MessageContext, message: Message, room: str, brand: BrandSettings) -> None:
    await _showcase(ctx, room, brand, showcase_order_ref((message.text or "").split(SHOWCASE_WORD, 1)[1]))


@router.message(group, in_brand_group, _image)
async def image(ctx: MessageContext, message: Message, room: str) -> None:
    """Any other image in a brand group: remembered, in case "晒单" follows."""
    await remember_image(ctx, room, message.sender, message.at)


@router.message(group_command("showcase"))
async def caption(
    ctx: MessageContext, message: Message, room: str, brand: BrandSettings, command: GroupCommand
) -> None:
    order_id = showcase_order_ref(command.rest)
    if ctx.distributor is None or ctx.distributor.status != DistributorStatus.ACTIVE:
        _refuse(ctx, brand, "not_distributor", order_id)
        return
    if not await take_image(ctx, room, message.sender, message.at):
        _refuse(ctx, brand, "need_image", order_id)
        return
    await _showcase(ctx, room, brand, order_id)


def _refuse(ctx: MessageContext, brand: BrandSettings, reason: str, order_id: str | None) -> None:
    ctx.reply(
        "showcase_refused",
        {
            "reason": reason,
            "brand": brand.name,
            "order_id": order_id or "",
            "minutes": int(SHOWCASE_WINDOW.total_seconds() // 60),
        },
    )


async def _showcase(ctx: MessageContext, room: str, brand: BrandSettings, order_id: str | None) -> None:
    person = ctx.distributor
    if person is None or person.status != DistributorStatus.ACTIVE:
        _refuse(ctx, brand, "not_distributor", order_id)
        return
    order, why = await q.showcase_order(ctx.session, person.id, brand.id, order_id)
    if order is None:
        _refuse(ctx, brand, why, order_id)
        return
    if await q.add_showcase_red_packet(ctx.session, order, ctx.now) is None:
        _refuse(ctx, brand, "already", order.id)  # a concurrent showcase of the same order won
        return
    course = ctx.settings.courses[order.course_sku]
    ctx.reply("showcase_recorded", {"seller": person.name, "course": course.name, "quantity": order.quantity})
    for manager in brand.managers:
        queue_text(
            ctx,
            target=manager,
            template="showcase_manager_dm",
            data={
                "brand": brand.name,
                "seller": person.name,
                "code": person.code,
                "group": group_name(ctx, room),
                "order_id": order.id,
                "course": course.name,
                "quantity": order.quantity,
                "paid": order.amount,
            },
        )

"""Brand groups (品牌专属推广群): newcomers welcomed, and the course manager's commands for
stock (库存) and announcements (公告).

Commands are parsed by core.group_ops (through :mod:`handlers.brand_groups`). A manager command
from anyone but that room's brand manager (or ops) gets a polite refusal, never silence.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from bot.base.config import BrandSettings
from bot.base.outbox import post_to_brand_groups, queue_row, queued_row
from bot.base.transport import RoomJoin, Transport
from bot.runtime.router import MessageContext, Router, event, with_transport
from core.group_ops import (
    GroupCommand,
    WelcomePlan,
    next_threshold,
    parse_stock_args,
    plan_welcome,
)
from handlers.brand_groups import group_command, group_name, in_brand_group, managers, refuse
from models import queries as q
from models.base import rowcount
from models.catalog import BrandGroup
from models.messaging import OutboxMessage
from models.rooms import RoomMember
from models.statuses import OutboxStatus
from services import stock
from services.membership import sync_members

router = Router("groups")
WELCOME = "group_welcome"


# --- Newcomers. ---


@router.on(event(RoomJoin), in_brand_group, with_transport)
async def welcome(ctx: MessageContext, event: RoomJoin, room: str, brand: BrandSettings, transport: Transport) -> None:
    """Re-read the member list (a join may name only one of several people), then greet every
    member not yet welcomed in one message. A welcome still waiting in the outbox absorbs them
    instead of a second message (the sender would join two welcomes' texts but keep only the
    first one's mentions)."""
    session = ctx.session
    first_look = await session.scalar(select(RoomMember.contact_id).where(RoomMember.room_id == room).limit(1)) is None
    await sync_members(ctx, transport, room)
    await session.flush()  # the session does not autoflush
    unwelcomed = list(
        await session.scalars(
            select(RoomMember.contact_id)
            .where(RoomMember.room_id == room, RoomMember.welcomed.is_(False))
            .order_by(RoomMember.seen_at, RoomMember.contact_id)
        )
    )
    if not unwelcomed:
        return
    group = await session.get(BrandGroup, room)
    account = group.account if group is not None else None
    # The helper is never welcomed: its logical account names and its WeChat id (self_id).
    helpers = {ctx.settings.helper_account, account, ctx.helper_id, transport.account}
    waiting = queued_row(ctx, template=WELCOME, target=room)  # a join earlier in this batch
    stored = None if waiting is not None else await _waiting_welcome_in_outbox(ctx, room)
    previous: dict[str, Any] = waiting["payload"] if waiting is not None else stored.payload if stored else {}

    def plan(merge: bool) -> WelcomePlan:
        return plan_welcome(
            unwelcomed,
            named=event.named,
            first_look=first_look,
            helpers={h for h in helpers if h},
            already=list(previous.get("mentions", [])) if merge else (),
            already_count=int(previous.get("count", 0)) if merge else 0,
        )

    merged = plan(merge=True)
    await session.execute(
        update(RoomMember)
        .where(RoomMember.room_id == room, RoomMember.contact_id.in_(merged.mark))
        .values(welcomed=True)
    )
    if merged.count == int(previous.get("count", 0)):
        return  # nobody new to greet
    text, payload = _welcome_text(ctx, room, brand, merged)
    if waiting is not None:
        waiting.update(text=text, payload=payload)
        return
    if stored is not None:
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == stored.id, OutboxMessage.status == OutboxStatus.QUEUED)
            .values(text=text, payload=payload)
        )
        if rowcount(result):
            return
        # The sender took that one meanwhile: greet the new people in a message of their own.
        text, payload = _welcome_text(ctx, room, brand, plan(merge=False))
    queue_row(
        ctx,
        account=account or ctx.settings.helper_account,
        kind="text",
        target=room,
        target_is_room=True,
        template=WELCOME,
        text=text,
        payload=payload,
    )


def _welcome_text(
    ctx: MessageContext, room: str, brand: BrandSettings, plan: WelcomePlan
) -> tuple[str, dict[str, Any]]:
    data = {
        "group": group_name(ctx, room),
        "brand": brand.name,
        "count": plan.count,
        "mentioned": len(plan.mention),
    }
    return ctx.renderer.render(WELCOME, data), {"mentions": list(plan.mention), "count": plan.count}


async def _waiting_welcome_in_outbox(ctx: MessageContext, room: str) -> OutboxMessage | None:
    return await ctx.session.scalar(
        select(OutboxMessage)
        .where(
            OutboxMessage.target == room, OutboxMessage.template == WELCOME, OutboxMessage.status == OutboxStatus.QUEUED
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )


# --- Stock (库存). ---


@router.message(group_command("stock"), managers)
async def set_stock(ctx: MessageContext, command: GroupCommand, brand: BrandSettings) -> None:
    """Set the stock, "库存 <sku> <数量>": a new stock epoch, so its thresholds can fire again."""
    args = parse_stock_args(command.rest)
    courses = {c.sku.upper(): c for c in brand.courses}
    if args is None or args.sku not in courses:
        rows = await q.brand_courses(ctx.session, brand.id)
        listed = [{"sku": c.sku, "name": c.name, "stock": c.stock} for c in rows]
        ctx.reply("stock_usage", {"brand": brand.name, "courses": listed, "unknown": args.sku if args else ""})
        return
    course = courses[args.sku]
    done = await stock.set_stock(ctx, brand.id, course.sku, args.stock)
    ctx.reply(
        "stock_set",
        {
            "course": course.name,
            "sku": course.sku,
            "stock": args.stock,
            "next_threshold": next_threshold(args.stock, done.thresholds),
        },
    )


# --- Announcements (公告). ---


@router.message(group_command("announce"), managers)
async def announce(ctx: MessageContext, command: GroupCommand, brand: BrandSettings) -> None:
    """Announce, "公告 <text>": reposted in every group of the brand."""
    text = command.rest
    if not text:
        ctx.reply("announce_usage", {"brand": brand.name})
        return
    await post_to_brand_groups(ctx, brand.id, "announcement", {"brand": brand.name, "text": text})


@router.message(group_command("stock", "announce"))
async def not_a_manager(ctx: MessageContext, command: GroupCommand, brand: BrandSettings) -> None:
    refuse(ctx, command, brand)

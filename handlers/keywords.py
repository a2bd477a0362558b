"""A brand keyword in a private message → that brand's promo group.

Keywords and aliases come from config.yaml and are found by :func:`core.keywords.match_brands`
(width, case and spaces ignored, inside longer sentences too). Someone who is not a
distributor is told how to join instead. A distributor already in one of the brand's groups
is told which. Where the transport has join codes (WeCom), the answer is the brand's join code;
otherwise the first group with room (:func:`core.keywords.choose_group`) takes
them — a direct add up to 40 members, an invitation above — and a seat is counted at once, so
a burst of requests between two member-list syncs does not overfill a group. When every group
is full, the helper creates the next one where the transport can; otherwise ops hear of it
(once per brand per ``brand_groups.full_alert_every_minutes``) and the person is told when to
try again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select, update

from bot.base.config import BrandSettings
from bot.base.outbox import queue_row, queue_text
from bot.base.transport import Transport, TransportError
from bot.runtime.router import Found, MessageContext, Role, Router, private, text_message
from core.keywords import GroupState, Join, choose_group, match_brands
from models import marks
from models.catalog import BrandGroup
from models.messaging import OutboxMessage
from models.rooms import RoomMember
from services import transport_codes
from services.entry import join_answer

log = logging.getLogger(__name__)
router = Router("keywords")
MAX_BRANDS_PER_MESSAGE = 3


class CreatedRooms:
    """The last room this process created per (helper account, brand), kept by the root object
    (``ctx.kept(CreatedRooms)``). Creating a room is the one effect here outside the database:
    when its unit of work is rolled back (another event of the batch failed and the batch is
    replayed), the replay finds the room here instead of creating a second one."""

    def __init__(self) -> None:
        self.rooms: dict[tuple[str, str], str] = {}


def asked_brands(ctx: MessageContext) -> Found | None:
    """The brands whose keywords the message names (at most three); hands them on as ``brands``."""
    found = match_brands(ctx.message.text, ctx.settings.brand_words)[:MAX_BRANDS_PER_MESSAGE]
    return {"brands": [ctx.settings.brands[brand_id] for brand_id in found]} if found else None


@router.message(private, text_message, asked_brands)
async def brand_keyword(ctx: MessageContext, brands: list[BrandSettings]) -> None:
    if ctx.role is Role.GUEST:
        ctx.reply("how_to_join", join_answer(ctx.settings, *brands))
        return
    for brand in brands:
        await place(ctx, brand)


async def place(ctx: MessageContext, brand: BrandSettings) -> None:
    """Into the brand's first group with room, or tell the person why not."""
    person = ctx.message.sender
    groups = list(
        await ctx.session.scalars(
            select(BrandGroup).where(BrandGroup.brand_id == brand.id).order_by(BrandGroup.position)
        )
    )
    rooms = [g.room_id for g in groups]
    inside = set(
        await ctx.session.scalars(
            select(RoomMember.room_id).where(RoomMember.contact_id == person, RoomMember.room_id.in_(rooms))
        )
    )
    if inside:
        ctx.reply("group_already_in", {"brand": brand.name, "groups": [g.name for g in groups if g.room_id in inside]})
        return
    earlier = (
        await ctx.session.execute(
            select(OutboxMessage.kind, OutboxMessage.payload).where(
                OutboxMessage.target == person,
                OutboxMessage.kind.in_(("room_add", "room_invite")),
                OutboxMessage.created_at >= ctx.now - timedelta(days=1),
            )
        )
    ).all()
    for kind, payload in earlier:  # asked again before joining: the same answer, no second invitation
        group = next((g for g in groups if g.room_id == (payload or {}).get("room")), None)
        if group is not None:
            join = Join.ADD if kind == "room_add" else Join.INVITE
            ctx.reply("group_joined", {"brand": brand.name, "group": group.name, "join": join.value})
            return
    if ctx.transport is not None and ctx.transport.capabilities.join_codes and groups:
        # Nobody is added here (WeCom's customer groups): the brand's join code lets them in,
        # and the transport opens the next group when the code's groups are full.
        try:
            code = await transport_codes.join_code(
                ctx, ctx.transport, brand.id, [g.room_id for g in groups], f"{brand.name}推广"
            )
        except TransportError as error:
            log.warning("no join code for %s: %s", brand.id, error)
        else:
            ctx.reply("group_join_code", {"brand": brand.name, "url": code.url})
            return
    fill = ctx.settings.raw.brand_groups
    placement = choose_group(
        [GroupState(g.room_id, g.member_count, g.capacity) for g in groups], fill.rollover_at, _direct_add_max(ctx)
    )
    if placement is not None:
        group = next(g for g in groups if g.room_id == placement.room)
        queue_row(
            ctx,
            account=group.account or _account(ctx),
            kind="room_add" if placement.join is Join.ADD else "room_invite",
            target=person,
            payload={"room": group.room_id},
        )
        await ctx.session.execute(
            update(BrandGroup)
            .where(BrandGroup.room_id == group.room_id)
            .values(member_count=BrandGroup.member_count + 1)  # the seat is taken now; the next sync corrects it
        )
        ctx.reply("group_joined", {"brand": brand.name, "group": group.name, "join": placement.join.value})
        return
    created = await _create_group(ctx, brand, groups)
    if created is not None:
        ctx.reply("group_created", {"brand": brand.name, "group": created.name})
        return
    every = timedelta(minutes=fill.full_alert_every_minutes)
    if await marks.claim(ctx.session, f"groups-full:{brand.id}", ctx.now, every):
        data = {
            "brand": brand.name,
            "brand_id": brand.id,
            "groups": [
                {"name": g.name, "members": g.member_count, "limit": min(g.capacity, fill.rollover_at)} for g in groups
            ],
        }
        for contact in ctx.settings.raw.ops:
            queue_text(ctx, target=contact, template="groups_full_ops", data=data)
    since = await marks.last(ctx.session, f"groups-full:{brand.id}") or ctx.now
    retry_at = max(since + every, ctx.now + timedelta(minutes=10))
    ctx.reply(
        "groups_full_wait",
        {"brand": brand.name, "keyword": brand.keywords[0], "retry_at": retry_at},
    )


async def _create_group(ctx: MessageContext, brand: BrandSettings, groups: list[BrandGroup]) -> BrandGroup | None:
    """A new group for the brand with the person (and the brand's managers) in it, recorded as
    the brand's next group; None where the transport cannot create rooms."""
    transport = ctx.transport
    if transport is None or not transport.capabilities.create_rooms:
        return None
    person = ctx.message.sender
    members = list(dict.fromkeys([person, *brand.managers]))
    name = f"{brand.name}推广{len(groups) + 1}群"
    account = _account(ctx)
    reused = await _room_from_a_rolled_back_attempt(ctx, transport, brand.id, groups)
    if reused is None:
        try:
            room = await transport.create_room(name, members)
        except TransportError as error:
            log.warning("could not create a group for %s: %s", brand.id, error)
            return None
        if room is None:
            return None
        ctx.kept(CreatedRooms).rooms[(account, brand.id)] = room
        present = [ctx.helper_id, *members]
    else:
        room, present = reused
        if person not in present:
            queue_row(ctx, account=account, kind="room_add", target=person, payload={"room": room})
    position = await ctx.session.scalar(select(func.max(BrandGroup.position)).where(BrandGroup.brand_id == brand.id))
    group = BrandGroup(
        room_id=room,
        brand_id=brand.id,
        name=name,
        capacity=groups[-1].capacity if groups else brand.groups[-1].capacity,
        position=(position or 0) + 1,
        member_count=len(set(present) | {person}),
        account=account,
    )
    ctx.session.add(group)
    ctx.session.add_all(RoomMember(room_id=room, contact_id=c, seen_at=ctx.now) for c in dict.fromkeys(present))
    for contact in ctx.settings.raw.ops:
        queue_text(
            ctx, target=contact, template="group_created_ops", data={"brand": brand.name, "group": name, "room": room}
        )
    return group


async def _room_from_a_rolled_back_attempt(
    ctx: MessageContext, transport: Transport, brand_id: str, groups: list[BrandGroup]
) -> tuple[str, list[str]] | None:
    """A room created for the brand whose BrandGroup row was never committed, with its members
    — if the transport still has it."""
    key = (_account(ctx), brand_id)
    created = ctx.kept(CreatedRooms).rooms
    room = created.pop(key, None)
    if room is None or any(g.room_id == room for g in groups):
        return None
    members = await transport.room_members(room)
    if not members:
        return None
    created[key] = room
    return room, members


def _direct_add_max(ctx: MessageContext) -> int | None:
    """Up to how many members a group takes a direct add: the configured number, within what the
    transport can do; None where it adds nobody directly (people join by invitation or code)."""
    configured = ctx.settings.raw.brand_groups.direct_add_max
    if ctx.transport is None:
        return configured
    limit = ctx.transport.capabilities.direct_add_limit
    return min(configured, limit) if limit else None


def _account(ctx: MessageContext) -> str:
    return ctx.transport.account if ctx.transport else ctx.settings.helper_account

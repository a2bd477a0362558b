"""Who is in which room, from the member list: a join event for several people may name only
one of them, so every join or leave re-reads the room's members from the transport."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from bot.router import MessageContext, Router, event
from bot.transport import RoomJoin, RoomLeave
from models.catalog import BrandGroup
from models.rooms import RoomMember

router = Router("membership")


async def sync_members(ctx: MessageContext, room: str) -> list[str]:
    """Make room_members match the transport's member list; returns who is new."""
    assert ctx.transport is not None
    members = set(await ctx.transport.room_members(room))
    known = set(await ctx.session.scalars(select(RoomMember.contact_id).where(RoomMember.room_id == room)))
    newcomers = sorted(members - known)
    ctx.session.add_all(RoomMember(room_id=room, contact_id=c, seen_at=ctx.now) for c in newcomers)
    if gone := known - members:
        await ctx.session.execute(delete(RoomMember).where(RoomMember.room_id == room, RoomMember.contact_id.in_(gone)))
    await ctx.session.execute(update(BrandGroup).where(BrandGroup.room_id == room).values(member_count=len(members)))
    return newcomers


@router.on(event(RoomJoin, RoomLeave))
async def member_list_changed(ctx: MessageContext) -> None:
    await sync_members(ctx, ctx.event.room)  # type: ignore[union-attr]

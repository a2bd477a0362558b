"""Joins and leaves in rooms no other router claims: the room's member list is read again
(:mod:`services.membership`), since a join of several people may name only one of them."""

from __future__ import annotations

from bot.base.transport import RoomJoin, RoomLeave
from bot.runtime.router import MessageContext, Router, event
from services.membership import sync_members

router = Router("membership")


@router.on(event(RoomJoin, RoomLeave))
async def member_list_changed(ctx: MessageContext) -> None:
    assert ctx.transport is not None
    # The filter let only joins and leaves through: the event has a room.
    await sync_members(ctx, ctx.transport, ctx.event.room)  # type: ignore[union-attr, arg-type]

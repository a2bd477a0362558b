"""Joins and leaves in rooms no other router claims: the room's member list is read again
(:mod:`services.membership`), since a join of several people may name only one of them."""

from __future__ import annotations

from bot.base.transport import RoomJoin, RoomLeave, Transport
from bot.runtime.router import MessageContext, Router, event, with_transport
from services.membership import sync_members

router = Router("membership")


@router.on(event(RoomJoin, RoomLeave), with_transport)
async def member_list_changed(ctx: MessageContext, event: RoomJoin | RoomLeave, transport: Transport) -> None:
    await sync_members(ctx, transport, event.room)

"""Who is in which room, from the member list: a join event for several people may name only
one of them, so every join or leave re-reads the room's members from the transport, and at
start the rooms the bot runs are read once (they may have members the bot never saw join).

``room_members`` is the one record of membership; every member count shown (the console's
brands pages, ``GET /api/brands/{id}/groups``) is counted from it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.context import Context
from bot.base.env import Env
from bot.base.transport import Transport, TransportError
from models.catalog import BrandGroup
from models.rooms import RoomMember
from models.upsert import insert_or_ignore

log = logging.getLogger(__name__)


async def record_members(
    session: AsyncSession, room: str, members: Iterable[str], now: datetime, *, welcomed: bool = False
) -> list[str]:
    """Make room_members match ``members`` (the transport's list); returns who is new. The
    brand group's seat count (``brand_groups.member_count``, which placement also moves ahead
    for people invited but not yet in) is reset to the list's size."""
    present = set(members)
    known = set(await session.scalars(select(RoomMember.contact_id).where(RoomMember.room_id == room)))
    newcomers = sorted(present - known)
    if newcomers:
        # Skipping rows another process has just written (a fleet starting together reads the
        # same rooms): the newcomers are those this statement wrote.
        rows = [{"room_id": room, "contact_id": c, "seen_at": now, "welcomed": welcomed} for c in newcomers]
        table = RoomMember.__table__
        written = insert_or_ignore(session, table, rows, on=["room_id", "contact_id"])
        newcomers = sorted(await session.scalars(written.returning(table.c.contact_id)))
    if gone := known - present:
        await session.execute(delete(RoomMember).where(RoomMember.room_id == room, RoomMember.contact_id.in_(gone)))
    await session.execute(update(BrandGroup).where(BrandGroup.room_id == room).values(member_count=len(present)))
    return newcomers


async def sync_members(ctx: Context, transport: Transport, room: str) -> list[str]:
    """Make room_members match the transport's member list; returns who is new."""
    return await record_members(ctx.session, room, await transport.room_members(room), ctx.now)


async def sync_rooms_at_start(env: Env, transport: Transport) -> int:
    """Read the member list of every brand group and of the material group, one unit of work
    each; returns how many rooms were read. People found here were there before the bot
    looked (or joined while it was away): they are recorded as welcomed, not greeted late.
    A room the transport cannot read now (not logged in yet) is logged and read at its next
    join or leave."""
    async with env.db.reading() as session:
        ordered = select(BrandGroup.room_id).order_by(BrandGroup.brand_id, BrandGroup.position)
        rooms = list(await session.scalars(ordered))
    material = env.settings.raw.platform.material_group
    if material and material not in rooms:
        rooms.append(material)
    read = 0
    for room in rooms:
        try:
            members = await transport.room_members(room)
        except TransportError as error:  # not logged in yet, the room gone: its next join or leave will do
            log.info("member list of %s not read at start (%s); it will be at its next join or leave", room, error)
            continue
        async with env.context() as ctx:
            await record_members(ctx.session, room, members, ctx.now, welcomed=True)
        read += 1
    return read

"""Two processes reading the same group's member list at once (a fleet starting together, each
reading every brand group): the second waits for the first's rows and skips them instead of
failing — on the code before, it failed with a duplicate key and its process stopped at start.
Each newcomer is reported new by exactly one of them."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from models.rooms import RoomMember
from services.membership import record_members
from tests.support import PG_URL, START, Databases, running_services
from tests.test_order_lock_order import blocked_on_a_lock

pytestmark = pytest.mark.skipif(not PG_URL, reason="two writers at once need PostgreSQL (SQLite takes one at a time)")
ROOM = "room-huiben-1"


async def test_two_processes_recording_the_same_members_at_once_both_commit(databases: Databases) -> None:
    async with running_services(databases, "postgresql") as env:
        members = ["helper", "mgr-sunyu", "wx-lina"]
        async with env.db.unit_of_work() as first:
            found_first = await record_members(first, ROOM, members, START, welcomed=True)

            async def second() -> list[str]:
                async with env.db.unit_of_work() as session:
                    return await record_members(session, ROOM, members, START, welcomed=True)

            other = asyncio.create_task(second())
            while not await blocked_on_a_lock(env) and not other.done():
                await asyncio.sleep(0.02)
        found_second = await other
        async with env.db.reading() as session:
            rows = sorted(await session.scalars(select(RoomMember.contact_id).where(RoomMember.room_id == ROOM)))
    assert rows == sorted(members)
    assert sorted(found_first + found_second) == sorted(members)  # each newcomer new once

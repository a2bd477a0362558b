"""Member counts come from the rooms' member lists, wherever they are shown: right after start
for rooms that already have members (the simulator's brand groups hold the helper and the
course manager), after joins and leaves, the same in the console and in the ops API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from bot.app import serve
from bot.base.transport import RoomJoin, TransportError
from bot.transports.sim import SimTransport
from models import queries as q
from services.membership import sync_rooms_at_start
from tests.console_support import log_in, make_account
from tests.fakes import FakeTransport
from tests.process_support import free_port
from tests.support import START, TOKEN, web_client
from tests.test_group_ops import HB, XH1, XH2, rows, run

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@asynccontextmanager
async def running_bot(services, journal) -> AsyncIterator[tuple[str, SimTransport]]:
    """``distbot run``'s own start-up (serve), on the simulator and a free port."""
    transport = SimTransport.from_settings(services.settings, journal)
    port, stop = free_port(), asyncio.Event()
    task = asyncio.create_task(serve(services, "127.0.0.1", port, stop=stop, transport=transport))
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    try:
        yield base, transport
    finally:
        stop.set()
        await task


async def groups(base: str, brand: str) -> list[tuple[str, int, int]]:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/api/brands/{brand}/groups", headers=AUTH) as r:
        body: dict[str, Any] = await r.json()
    return [(g["name"], g["members"], g["capacity"]) for g in body["groups"]]


async def test_right_after_start_the_api_and_the_console_count_the_members_the_rooms_already_have(
    services, tmp_path, capsys
):
    async with running_bot(services, tmp_path / "world.jsonl") as (base, _transport):
        xinghuo, huiben = await groups(base, "xinghuo"), await groups(base, "huiben")

    assert xinghuo == [("星火思维推广1群", 2, 450), ("星火思维推广2群", 2, 450)]  # the helper and 赵琳
    assert huiben == [("绘本岛推广群", 2, 450)]
    async with web_client(services) as client:
        await make_account(services, "xiaomei")
        await log_in(client, "xiaomei")
        page = await (await client.get("/console/brands")).text()
    assert page.count('<td class="num">2 / 450</td>') == 4  # every brand group of the demo, none at 0


async def test_people_joining_and_leaving_a_room_move_the_count_shown_to_what_the_room_holds(
    services, tmp_path, capsys
):
    async with running_bot(services, tmp_path / "world.jsonl") as (base, transport):
        async with aiohttp.ClientSession() as http:
            join = {"contacts": ["wx-a", "wx-b", "wx-c"]}
            await http.post(f"{base}/sim/rooms/room-xinghuo-2/join", json=join)
            await http.post(f"{base}/sim/rooms/room-xinghuo-2/leave", json={"contact": "wx-b"})
        await transport.idle()
        counts = await groups(base, "xinghuo")

    assert counts == [("星火思维推广1群", 2, 450), ("星火思维推广2群", 4, 450)]
    assert len(transport.world.rooms["room-xinghuo-2"].members) == 4


class HalfReadyTransport(FakeTransport):
    """Reads some rooms' member lists; the others fail as wechaty does before its login."""

    async def room_members(self, room: str) -> list[str]:
        if room not in self.members:
            raise TransportError(f"room_members {room}: not connected to the puppet service")
        return await super().room_members(room)


async def test_a_room_the_transport_cannot_read_at_start_waits_for_its_next_join_and_the_others_are_counted(
    services,
):
    transport = HalfReadyTransport(members={XH1: ["helper", "mgr-zhaolin"], HB: ["helper", "mgr-sunyu", "wx-lina"]})

    assert await sync_rooms_at_start(services, transport) == 2

    async with services.db.reading() as session:
        sizes = {g.room_id: n for brand in ("xinghuo", "huiben") for g, n in await q.group_sizes(session, brand)}
    assert sizes == {XH1: 2, XH2: 0, HB: 3}


async def test_after_the_start_up_read_three_people_joining_at_once_are_all_welcomed_though_the_event_names_one(
    services,
):
    transport = FakeTransport(members={XH1: ["helper", "mgr-zhaolin"]})
    await sync_rooms_at_start(services, transport)
    transport.members[XH1] += ["wx-a", "wx-b", "wx-c"]

    await run(services, RoomJoin(XH1, ("wx-b",), START), transport=transport)

    [welcome] = await rows(services, XH1)
    assert welcome.payload == {"mentions": ["wx-a", "wx-b", "wx-c"], "count": 3}  # 赵琳 was there before

"""Helpers for the console tests: accounts, a logged-in HTTP client, and the rows the pages
act on (red packets of two brands, a pending co-learning application)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.console.auth import add_user
from models import ColearningApplication, Distributor, RedPacket, RoomInvitationRecord
from tests.support import START

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def make_account(services, name: str, role: str = "ops", brands: Sequence[str] = ()) -> None:
    async with services.db.unit_of_work() as session:
        await add_user(session, name, PASSWORD, role, brands)


async def log_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the form; the session's CSRF token (read from a page)."""
    page = await client.get("/console/login")
    token = CSRF.search(await page.text()).group(1)
    response = await client.post("/console/login", data={"csrf": token, "name": name, "password": password})
    assert response.status == 200, await response.text()
    return CSRF.search(await response.text()).group(1)


async def add_red_packets(services) -> dict[str, int]:
    """One threshold red packet owed for xinghuo and one for huiben: {brand: id}."""
    async with services.db.unit_of_work() as session:
        packets = {
            "xinghuo": RedPacket(
                brand_id="xinghuo", reason="threshold", course_sku="XH-MATH-S1", stock_epoch=0, threshold=100,
                created_at=START,
            ),
            "huiben": RedPacket(
                brand_id="huiben", reason="threshold", course_sku="HB-YEAR", stock_epoch=0, threshold=100,
                created_at=START,
            ),
        }  # fmt: skip
        session.add_all(packets.values())
        await session.flush()
        return {brand: packet.id for brand, packet in packets.items()}


async def add_pending_application(services, room: str = "room-lina-parents", topic: str = "李娜的家长群") -> int:
    async with services.db.unit_of_work() as session:
        who = await session.scalar(select(Distributor).where(Distributor.code == "DEMOC001"))
        session.add(
            RoomInvitationRecord(
                id=f"inv-{room}", account="helper", room_id=room, topic=topic, inviter=who.contact_id,
                member_count=120, status="pending", received_at=START,
            )
        )  # fmt: skip
        await session.flush()
        app = ColearningApplication(
            invitation_id=f"inv-{room}", distributor_id=who.id, account="helper", room_id=room, topic=topic,
            member_count=120, status="pending", reason="", created_at=START,
        )  # fmt: skip
        session.add(app)
        await session.flush()
        return app.id

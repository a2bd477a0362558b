"""Helpers for the co-learning tests: routers in the order the bot runs them, enrolled groups
made directly, a paused scheduler whose jobs the tests fire by hand, outbox reads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from aiohttp.test_utils import TestClient, TestServer
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

import handlers
from bot.app import web_app
from bot.base.transport import Message
from bot.runtime.dispatch import Dispatcher
from bot.runtime.middleware import AnswerLimiter
from bot.runtime.router import Router
from handlers import colearning
from models import ColearningApplication, Distributor, OutboxMessage, RoomInvitationRecord
from services.reports import local_zone
from services.session_draft import SessionDraft
from tests.fakes import FakeTransport
from tests.support import START

ROUTERS: list[Router] = [colearning.router, *handlers.ROUTERS]  # first: before membership and the groups
SESSION_START = START + timedelta(days=1, hours=10)  # 26 Nov 20:00 in Shanghai
SESSION_END = SESSION_START + timedelta(hours=1)
LECTURE_ROOM = "room-lecture"
LECTURER = "wx-teacher"


def said(sender: str, text: str, at: datetime, n: int, room: str | None = LECTURE_ROOM, **extra) -> Message:
    return Message(id=f"{sender}-{n}", sender=sender, sender_name=extra.pop("name", sender), text=text, at=at,
                   room=room, **extra)  # fmt: skip


async def dispatch(services, *events, transport: FakeTransport | None = None) -> None:
    limiter = AnswerLimiter.for_env(services, person=10_000, room=10_000)
    dispatcher = Dispatcher(services, ROUTERS, transport or FakeTransport(), middlewares=[limiter])
    dispatcher.start()
    for item in events:
        await dispatcher.submit(item)
    await dispatcher.stop()


async def enrol(services, rooms: Sequence[str], *, code: str = "DEMOC001", account: str = "helper") -> list[int]:
    """Enrolled groups of one distributor, as if applied and approved (ids in room order)."""
    async with services.db.unit_of_work() as session:
        who = await session.scalar(select(Distributor).where(Distributor.code == code))
        for room in rooms:
            session.add(
                RoomInvitationRecord(
                    id=f"inv-{room}",
                    account=account,
                    room_id=room,
                    topic=room,
                    inviter=who.contact_id,
                    member_count=100,
                    status="accepted",
                    received_at=START,
                )
            )
        await session.flush()
        apps = [
            ColearningApplication(
                invitation_id=f"inv-{room}",
                distributor_id=who.id,
                account=account,
                room_id=room,
                topic=room,
                member_count=100,
                status="enrolled",
                reason="",
                created_at=START,
            )
            for room in rooms
        ]
        session.add_all(apps)
        await session.flush()
        return [a.id for a in apps]


def session_body(**overrides) -> dict:
    return {
        "title": "数学思维公开课",
        "source_room": LECTURE_ROOM,
        "lecturers": [LECTURER],
        "starts_at": SESSION_START.isoformat(),
        "ends_at": SESSION_END.isoformat(),
        "course": "XH-MATH-S1",
        "cards": ["30m"],
        **overrides,
    }


def session_draft(settings, **overrides) -> SessionDraft:
    """:func:`session_body` as the service's command."""
    return SessionDraft.parse(session_body(**overrides), local_zone(settings))


def paused_scheduler() -> AsyncIOScheduler:
    """Jobs are set and kept, never fired by the wall clock: tests fire them by hand."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.start(paused=True)
    return scheduler


@asynccontextmanager
async def colearning_client(services) -> AsyncIterator[TestClient]:
    """A test client of the app (its co-learning routes included)."""
    app = web_app(services)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def outbox(services, **where) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for column, value in where.items():
        query = query.where(getattr(OutboxMessage, column) == value)
    async with services.db.reading() as session:
        return list(await session.scalars(query))

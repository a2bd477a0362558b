"""Driving the private-message capabilities through a Dispatcher with a FakeTransport and the
routers of handlers/__init__.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import select

import handlers
from bot.base.env import Env
from bot.base.transport import Capabilities, Event, Message
from bot.runtime.dispatch import Dispatcher
from bot.web.webhooks import ingest
from handlers import keywords, material
from models import OutboxMessage
from services.order_events import parse_event
from tests.fakes import FAKE, FakeTransport
from tests.support import START

# The routers as the bot runs them (friends.py registers people whose greeting has a code).
ROUTERS = handlers.ROUTERS


ROOM_MAKING = replace(FAKE, create_rooms=True)


@dataclass
class RoomMakingTransport(FakeTransport):
    """A transport that can create rooms (as the simulator can)."""

    capabilities: Capabilities = ROOM_MAKING
    created: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)

    async def create_room(self, topic: str, members: Sequence[str]) -> str | None:
        room = f"room-new-{len(self.created) + 1}"
        self.created.append((room, topic, tuple(members)))
        self.members[room] = [self.account, *members]
        return room


_count = 0


def dm(
    sender: str, text: str, room: str | None = None, name: str | None = None, mentions_self: bool = False
) -> Message:
    global _count
    _count += 1
    return Message(
        id=f"m-{_count}",
        sender=sender,
        sender_name=name or sender,
        text=text,
        at=START,
        room=room,
        mentions_self=mentions_self,
    )


async def run(services: Env, *events: Event, transport: FakeTransport | None = None) -> Dispatcher:
    """Submit ``events`` one after the other and wait until they are handled."""
    dispatcher = Dispatcher(services, ROUTERS, transport or FakeTransport())
    dispatcher.start()
    try:
        for one in events:
            await dispatcher.submit(one)
    finally:
        await dispatcher.stop()
    assert dispatcher.failed == 0
    return dispatcher


async def outbox(services: Env, *, since: int = 0) -> list[OutboxMessage]:
    async with services.db.reading() as session:
        return list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.id > since).order_by(OutboxMessage.id))
        )


async def last_id(services: Env) -> int:
    rows = await outbox(services)
    return rows[-1].id if rows else 0


def texts_to(rows: Sequence[OutboxMessage], target: str) -> list[str]:
    return [r.text for r in rows if r.target == target and r.kind == "text"]


async def sell(services: Env, *events: dict[str, object]) -> None:
    for data in events:
        parsed, errors = parse_event(data)
        assert parsed is not None, errors
        response = await ingest(services, parsed)
        assert response.status == 200, response.text


__all__ = ["ROUTERS", "RoomMakingTransport", "dm", "keywords", "last_id", "material", "outbox", "run", "sell"]

"""The bot on WeCom for end-to-end tests: the fake WeCom server, the wecom transport, the
dispatcher with the routers and the outbox sender, on one database and one clock."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

import handlers
from bot.base.config import RateLimits
from bot.base.context import FixedClock
from bot.base.env import Env
from bot.runtime.dispatch import Dispatcher
from bot.runtime.sender import OutboxSender
from models import OutboxMessage
from tests.wecom.fake_contacts import Relation
from tests.wecom.fake_groups import Group, Member
from tests.wecom.transport_support import HELPER, Wired, wired

BRAND_ROOMS = ("room-xinghuo-1", "room-xinghuo-2")


@dataclass
class Bot:
    env: Env
    w: Wired
    dispatcher: Dispatcher
    sender: OutboxSender

    async def settle(self) -> None:
        """Everything taken in is handled and everything due is handed to WeCom."""
        await self.w.transport.drain()
        await self.dispatcher._drained()
        for _ in range(200):
            wait = await self.sender.send_next()
            if wait is None:
                return
            if wait:
                await self.sender.sleep(wait)

    async def rows(self) -> list[OutboxMessage]:
        async with self.env.db.reading() as session:
            return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    def customer(self, contact: str, name: str) -> str:
        self.w.fake.contacts.customers[contact] = name
        self.w.fake.contacts.relations[(HELPER, contact)] = Relation(HELPER, contact, "", self.w.clock.now())
        return contact


async def _no_sleep(seconds: float) -> None:
    return None


@asynccontextmanager
async def running_bot(services: Env, tmp_path: Path) -> AsyncIterator[Bot]:
    """The bot on the fake WeCom server, the brand's two groups owned by the helper."""
    clock = services.clock
    assert isinstance(clock, FixedClock)
    async with wired(clock, tmp_path) as w:
        for room in BRAND_ROOMS:  # the brand's customer groups, owned by the helper
            group = Group(room, room, HELPER, clock.now())
            group.members[HELPER] = Member(HELPER, 1, clock.now(), 1)
            w.fake.groups.groups[room] = group
        dispatcher = Dispatcher(services, handlers.ROUTERS, w.transport)
        dispatcher.start()
        w.transport._sink = dispatcher.submit  # the wired transport hands its events to the bot
        limits = RateLimits(account_interval_seconds=Decimal(0), room_interval_seconds=Decimal(0),
                            jitter_seconds=Decimal(0))
        sender = OutboxSender(services, w.transport, limits, rng=random.Random(1), monotonic=lambda: 0.0,
                              sleep=_no_sleep)
        try:
            yield Bot(services, w, dispatcher, sender)
        finally:
            await dispatcher.stop()

"""The whole bot but the web server, through the simulator: the dispatcher with the pre-routing
stage as ``distbot run`` has it (answer limits, group moderation) and a sender with no pauses,
settled after each step (the end-to-end tests of moderation and withdrawals)."""

from __future__ import annotations

from decimal import Decimal

import handlers
from bot.base.config import RateLimits
from bot.runtime.dispatch import Dispatcher
from bot.runtime.middleware import AnswerLimiter
from bot.runtime.moderation import Moderator
from bot.runtime.sender import OutboxSender
from bot.transports.sim import SimTransport

INSTANT = RateLimits(account_interval_seconds=Decimal(0), room_interval_seconds=Decimal(0), jitter_seconds=Decimal(0))
ROOM = "room-xinghuo-1"


class World:
    """The simulator, the dispatcher with its pre-routing stage (answer limits, moderation) and
    a sender with no pauses, settled after each step."""

    def __init__(self, services, journal):
        self.transport = SimTransport.from_settings(services.settings, journal, clock=services.clock.now)
        self.world = self.transport.world
        stage = [AnswerLimiter.for_env(services), Moderator(services)]
        self.dispatcher = Dispatcher(services, handlers.ROUTERS, self.transport, middlewares=stage)
        self.sender = OutboxSender(services, self.transport, INSTANT)

    async def __aenter__(self):
        self.dispatcher.start()
        await self.transport.start(self.dispatcher.submit)
        return self

    async def __aexit__(self, *exc):
        await self.transport.stop()
        await self.dispatcher.stop()

    async def settle(self):
        for _ in range(50):
            await self.transport.idle()
            if await self.sender.send_next() is None:
                await self.transport.idle()
                if await self.sender.send_next() is None:
                    return
        raise AssertionError("the bot did not settle")

    async def says(self, sender: str, text: str, room: str | None = ROOM, **more):
        self.transport.deliver(self.world.message_event(self.world.say(sender, text, room=room, **more)))
        await self.settle()

    def room_lines(self) -> list[str]:
        return [m["text"] for m in self.world.room(ROOM).messages]

    def helper_posts(self) -> list[tuple[str, list[str]]]:
        return [(m["text"], m["mentions"]) for m in self.world.room(ROOM).messages if m["from"] == self.world.helper]

    def dms_to(self, contact: str) -> list[str]:
        return [m["text"] for m in self.world.said_to(contact)]

"""The composition root's product: everything a request or a job needs, built once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from bot.base.config import Settings
from bot.base.context import Clock, Context, SystemClock
from bot.base.db import Database
from bot.base.render import Renderer
from bot.console.throttle import LoginThrottle
from bot.runtime.limits import Answered


@dataclass
class Services:
    settings: Settings
    db: Database
    renderer: Renderer
    clock: Clock = field(default_factory=SystemClock)
    # Called after a unit of work commits, so a sender in this process looks at the outbox at
    # once instead of at its next poll.
    committed: Callable[[], None] = lambda: None
    # Console logins: failures limited without letting anyone lock the real user out.
    login_attempts: LoginThrottle = field(default_factory=LoginThrottle)
    # What the helper answered whom, when: the dispatcher's answer limits and the menu read it.
    answered: Answered = field(default_factory=Answered)

    @asynccontextmanager
    async def context(self) -> AsyncIterator[Context]:
        """One unit of work with its context: committed when the block ends."""
        async with self.db.unit_of_work() as session:
            yield Context(session, self.settings, self.renderer, self.clock.now())
        self.committed()


SERVICES = web.AppKey("services", Services)

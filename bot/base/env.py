"""The root object a process builds once (``bot.app.build_env``): the configuration, the
database, the renderer and the clock every request, job and chat event works with, the unit of
work it opens (:meth:`Env.unit_of_work`, and :meth:`Env.context` on it), and what the process
keeps across events (:meth:`Env.kept`).
Named for what it is — the process's environment — so it is not confused with the ``services``
package of use cases, which receive it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.base.config import Settings
from bot.base.context import SYSTEM, Actor, Clock, Context, Kept, SystemClock
from bot.base.db import Database
from bot.base.logs import trace
from bot.base.render import Renderer
from bot.base.tracing import written
from bot.base.uow import UnitOfWork

T = TypeVar("T")
log = logging.getLogger(__name__)


Reaction = Callable[[Any], Awaitable[None]]


@dataclass
class Env:
    settings: Settings
    db: Database
    renderer: Renderer
    clock: Clock = field(default_factory=SystemClock)
    # Called after a unit of work commits, so a sender in this process looks at the outbox at
    # once instead of at its next poll.
    committed: Callable[[], None] = lambda: None
    # What this process keeps across events, one object per kind: ``env.kept(Answered)`` — e.g.
    # what the helper answered whom (``bot.runtime.limits.Answered``, read by the answer limits
    # and the menu), the co-learning relay's source rooms, the console's login failures
    # (``bot.console.throttle.LoginThrottle``). Owned here, by the object the composition root
    # builds once, so a layer below needs no import of the layers that use it; every context
    # carries it (``ctx.kept``).
    kept: Kept = field(default_factory=Kept)
    # What to do once a unit of work that emitted an event of a kind has committed (``react``).
    _reactions: dict[type, list[Reaction]] = field(default_factory=dict, repr=False)

    def keep(self, value: T) -> T:
        """Keep ``value`` as the one of its kind (e.g. a login throttle on a test's clock)."""
        return self.kept.keep(value)

    def react(self, kind: type, reaction: Reaction) -> None:
        """Call ``reaction(event)`` for every ``kind`` of event a committed unit of work emitted
        (``UnitOfWork.emit``), after the reactions registered before it. The composition root
        registers them (``bot.app``)."""
        self._reactions.setdefault(kind, []).append(reaction)

    async def publish(self, event: object) -> None:
        for reaction in self._reactions.get(type(event), ()):
            try:
                await reaction(event)
            except Exception:
                log.exception("reacting to %r: %s failed", event, getattr(reaction, "__qualname__", reaction))

    @asynccontextmanager
    async def unit_of_work(self, *, last_try: bool = True) -> AsyncIterator[UnitOfWork]:
        """One transaction: what it owes before the commit is written (``before_commit``), it
        commits when the block ends (rolled back if it raises), then what it owes once
        committed is done and its events are published (:meth:`UnitOfWork.committed`)."""
        async with self.db.unit_of_work() as session:
            uow = UnitOfWork(session, last_try=last_try, publish=self.publish)
            if trace.get():  # a traced call's unit of work logs what it wrote once committed
                written(uow)
            yield uow
            await uow.flush()
        self.committed()
        await uow.committed()

    @asynccontextmanager
    async def context(self, actor: Actor = SYSTEM) -> AsyncIterator[Context]:
        """One unit of work with its context, acting for ``actor`` (what the audit log records
        as who did it and from where): committed when the block ends."""
        async with self.unit_of_work() as uow:
            yield Context(uow.session, self.settings, self.renderer, self.clock.now(), uow, self.kept, actor)

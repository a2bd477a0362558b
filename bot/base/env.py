"""The root object a process builds once (``bot.app.build_env``): the configuration, the
database, the renderer and the clock every request, job and chat event works with, the unit of
work it opens (:meth:`Env.unit_of_work`, and :meth:`Env.context` on it), and what the process
keeps across events (:meth:`Env.kept`).
Named for what it is — the process's environment — so it is not confused with the ``services``
package of use cases, which receive it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.base.config import Settings
from bot.base.context import SYSTEM, Actor, Clock, Context, SystemClock
from bot.base.db import Database
from bot.base.render import Renderer
from bot.base.uow import UnitOfWork

T = TypeVar("T")


@dataclass
class Env:
    settings: Settings
    db: Database
    renderer: Renderer
    clock: Clock = field(default_factory=SystemClock)
    # Called after a unit of work commits, so a sender in this process looks at the outbox at
    # once instead of at its next poll.
    committed: Callable[[], None] = lambda: None
    # What this process keeps across events, one object per kind (see ``kept``).
    _kept: dict[type, Any] = field(default_factory=dict, repr=False)

    def kept(self, kind: type[T]) -> T:
        """The one ``kind`` this process keeps across events, made (``kind()``) on first use:
        e.g. what the helper answered whom (``bot.runtime.limits.Answered``, read by the
        dispatcher's answer limits and the menu) and the console's login failures
        (``bot.console.throttle.LoginThrottle``). Owned here, by the object the composition root
        builds once, so a layer below needs no import of the layers that use it."""
        found = self._kept.get(kind)
        if found is None:
            found = self._kept[kind] = kind()
        return found

    def keep(self, value: T) -> T:
        """Keep ``value`` as the one of its kind (e.g. a login throttle on a test's clock)."""
        self._kept[type(value)] = value
        return value

    @asynccontextmanager
    async def unit_of_work(self, *, last_try: bool = True) -> AsyncIterator[UnitOfWork]:
        """One transaction: committed when the block ends (rolled back if it raises), then
        what it owes once committed is done (:meth:`UnitOfWork.committed`)."""
        async with self.db.unit_of_work() as session:
            uow = UnitOfWork(session, last_try=last_try)
            yield uow
        await uow.committed()
        self.committed()

    @asynccontextmanager
    async def context(self, actor: Actor = SYSTEM) -> AsyncIterator[Context]:
        """One unit of work with its context, acting for ``actor`` (what the audit log records
        as who did it and from where): committed when the block ends."""
        async with self.unit_of_work() as uow:
            yield Context(uow.session, self.settings, self.renderer, self.clock.now(), uow, actor)

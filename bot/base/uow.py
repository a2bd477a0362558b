"""The unit of work: one transaction and what it owes besides the rows its session holds.

A request, a job step or a batch of chat events opens one (:meth:`bot.base.env.Env.unit_of_work`,
or :meth:`~bot.base.env.Env.context` for the context built on it); the context of each message
carries it (``ctx.uow``). What belongs to the transaction is kept here, by the object that
needs it, instead of in ``session.info`` behind global SQLAlchemy listeners:

- :meth:`UnitOfWork.attached`: one object per owner for the life of this transaction — the
  outbox rows queued (``bot.base.outbox``), the answer limits' decisions of a batch;
- :meth:`UnitOfWork.before_commit`: written just before the commit, inside the transaction —
  the queued outbox rows as one multi-row INSERT;
- :meth:`UnitOfWork.after_commit`: run once the commit succeeded (never after a rollback) —
  the answer limits remembering what was answered, the event figures counted;
- :meth:`UnitOfWork.emit`: what happened, for whoever the composition root told to react
  (:meth:`bot.base.env.Env.react`), published once committed — e.g. "co-learning changed" →
  the timer resyncs its jobs and the relay filter its source rooms; no caller has to remember.

Example: a batch of three messages is handled in one unit of work; each answer decided adds to
the batch's decisions (``attached``) and each reply to its outbox rows; the rows are inserted
(``before_commit``); the commit succeeds, so the decisions are merged into the process's memory
(``after_commit``). Had the batch been rolled back, none of it would happen: the replay, in
units of work of its own, decides and queues again from the same memory.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)
T = TypeVar("T")
AfterCommit = Callable[[], Awaitable[None] | None]
Publish = Callable[[object], Awaitable[None]]


class UnitOfWork:
    """One transaction's session and what it owes once committed.

    ``last_try`` is False while a failure would be tried again (the dispatcher replays a batch
    that failed event by event), so what counts failures counts each event once."""

    def __init__(self, session: AsyncSession, *, last_try: bool = True, publish: Publish | None = None):
        self.session = session
        self.last_try = last_try
        self.events: list[object] = []  # emitted, published once committed
        self._publish = publish
        self._before_commit: list[Callable[[], Awaitable[None]]] = []
        self._after_commit: list[AfterCommit] = []
        self._attached: dict[object, Any] = {}

    def before_commit(self, write: Callable[[], Awaitable[None]]) -> None:
        """Run ``write`` inside the transaction, just before it commits."""
        self._before_commit.append(write)

    def emit(self, event: object) -> None:
        """Say what this unit of work did; published once it has committed (an equal event
        emitted twice is published once)."""
        if event not in self.events:
            self.events.append(event)

    def after_commit(self, callback: AfterCommit) -> None:
        """Run ``callback`` (plain or async) once this unit of work has committed."""
        self._after_commit.append(callback)

    def attached(self, owner: object, make: Callable[[], T]) -> T:
        """The object ``owner`` keeps for this unit of work, made by ``make()`` on first use."""
        if owner not in self._attached:
            self._attached[owner] = make()
        return cast(T, self._attached[owner])

    async def flush(self) -> None:
        """Write what is due before the commit (the caller commits next)."""
        writes, self._before_commit = self._before_commit, []
        for write in writes:
            await write()

    async def committed(self) -> None:
        """Run the after-commit callbacks in the order they were given, then publish the events.
        The transaction stands whatever they do: one that raises is logged and the others still
        run."""
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("after commit: %s failed (the transaction stands)", _name(callback))
        events, self.events, publish = self.events, [], self._publish
        if publish is None:
            return
        for event in events:
            try:
                await publish(event)
            except Exception:
                log.exception("after commit: reacting to %r failed (the transaction stands)", event)


def _name(callback: object) -> str:
    return getattr(callback, "__qualname__", None) or repr(callback)

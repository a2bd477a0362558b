"""The unit of work: one transaction and what it owes besides the rows its session holds.

A request, a job step or a batch of chat events opens one (:meth:`bot.base.env.Env.unit_of_work`,
or :meth:`~bot.base.env.Env.context` for the context built on it); the context of each message
carries it (``ctx.uow``). Code that must act only once the transaction is committed says so
here instead of in a global listener or a private list on the session:

- :meth:`UnitOfWork.after_commit`: a callback run once the commit succeeded (never after a
  rollback), e.g. the answer limits remembering what was answered, the event figures counted.
- :meth:`UnitOfWork.attached`: one object per owner for the life of this transaction, e.g. the
  answer limits' decisions of a batch, made by each event and kept together until the commit.

Example: a batch of three messages is handled in one unit of work; each answer decided adds to
the batch's decisions (``attached``); the commit succeeds, so the decisions are merged into the
process's memory (``after_commit``). Had the batch been rolled back, nothing would be merged and
the replay, in units of work of its own, would decide again from the same memory.
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


class UnitOfWork:
    """One transaction's session and what it owes once committed.

    ``last_try`` is False while a failure would be tried again (the dispatcher replays a batch
    that failed event by event), so what counts failures counts each event once."""

    def __init__(self, session: AsyncSession, *, last_try: bool = True):
        self.session = session
        self.last_try = last_try
        self._after_commit: list[AfterCommit] = []
        self._attached: dict[object, Any] = {}

    def after_commit(self, callback: AfterCommit) -> None:
        """Run ``callback`` (plain or async) once this unit of work has committed."""
        self._after_commit.append(callback)

    def attached(self, owner: object, make: Callable[[], T]) -> T:
        """The object ``owner`` keeps for this unit of work, made by ``make()`` on first use."""
        if owner not in self._attached:
            self._attached[owner] = make()
        return cast(T, self._attached[owner])

    async def committed(self) -> None:
        """Run the after-commit callbacks, in the order they were given. The transaction stands
        whatever they do: one that raises is logged and the others still run."""
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("after commit: %s failed (the transaction stands)", _name(callback))


def _name(callback: object) -> str:
    return getattr(callback, "__qualname__", None) or repr(callback)

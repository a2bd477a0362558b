"""The pre-routing stage: outer middlewares every incoming event passes, in the order the
composition root registers them, before first-match routing (the idea of aiogram 3's outer
middlewares, without its machinery).

A middleware is any callable ``async def mw(event, ctx, call_next) -> Outcome``:

- ``event`` is the transport's event (``ctx.event`` too), ``ctx`` the
  :class:`~bot.runtime.router.MessageContext` the dispatcher built for it — the unit of work
  (``ctx.session``, ``ctx.uow``), the sender's ``ctx.role`` and ``ctx.distributor``, the
  transport and its capabilities;
- ``await call_next()`` passes the event on (to the next middleware, the last one to routing)
  and returns what became of it; a middleware *stops* the event by returning
  :attr:`Outcome.STOPPED` without calling it (no router sees the event then; its unit of work
  still commits what the middleware wrote — a warning queued with ``ctx.reply``, a row);
- raising fails the event as a handler's error would (the batch is replayed event by event,
  the person gets the polite error); a database outage propagates as always.

Example: ``[metrics, answer_limits]`` (``bot.app``). A stranger's "帮助" passes the metrics
hook (which starts timing), the answer limits (which give ``ctx.answers`` this batch's
budget) and reaches ``menu.menu``: the hook counts ``dm``/``handled`` once the batch commits.
A moderation middleware placed after the answer limits that returns ``STOPPED`` for an ad in a
brand group is counted ``group``/``stopped``, and the ad reaches no router.

The answer limits' middleware (:class:`AnswerLimiter`) is defined here; the figures' hook in
``bot.runtime.metrics``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from typing import Protocol

from bot.base.env import Env
from bot.base.transport import Event
from bot.runtime.limits import AnswerBatch, Answered, AnswerLimits
from bot.runtime.router import MessageContext

CallNext = Callable[[], Awaitable["Outcome"]]


class Outcome(StrEnum):
    HANDLED = "handled"  # a handler ran
    UNMATCHED = "unmatched"  # no route matched (nothing to do)
    STOPPED = "stopped"  # a middleware stopped it before routing
    FAILED = "failed"  # a handler or middleware raised; given up on


class Middleware(Protocol):
    async def __call__(self, event: Event, ctx: MessageContext, call_next: CallNext) -> Outcome: ...


async def run_stage(
    middlewares: Sequence[Middleware],
    event: Event,
    ctx: MessageContext,
    routing: Callable[[MessageContext], Awaitable[Outcome]],
) -> Outcome:
    """Pass ``event`` through ``middlewares`` in order, then to ``routing``."""

    async def step(index: int) -> Outcome:
        if index == len(middlewares):
            return await routing(ctx)
        return await middlewares[index](event, ctx, lambda: step(index + 1))

    return await step(0)


class AnswerLimiter:
    """The answer limits as a middleware: every event of a unit of work decides against the
    same :class:`AnswerBatch` (what the process answered before, plus this batch so far), which
    is merged into ``memory`` after the commit. It stops nothing: every message is handled."""

    def __init__(self, limits: AnswerLimits, memory: Answered):
        self.limits, self.memory = limits, memory

    @classmethod
    def for_env(cls, env: Env, *, person: int | None = None, room: int | None = None) -> AnswerLimiter:
        """The configured limits (``answers``) against the memory ``env`` keeps; ``person`` and
        ``room`` replace every role's budget and the group's (tests and benchmarks turn them up)."""
        return cls(AnswerLimits.from_settings(env.settings, person=person, room=room), env.kept(Answered))

    async def __call__(self, event: Event, ctx: MessageContext, call_next: CallNext) -> Outcome:
        ctx.answers = ctx.uow.attached(self, lambda: self._open(ctx))
        return await call_next()

    def _open(self, ctx: MessageContext) -> AnswerBatch:
        batch = AnswerBatch(self.memory, self.limits)
        ctx.uow.after_commit(batch.commit)
        return batch

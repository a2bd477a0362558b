"""Micro-batching of concurrent order events: several webhook deliveries, one transaction.

Every order of a course contends for the course's stock row until its transaction commits,
and each commit costs a round trip and a disk flush: one order per transaction cannot get past
the commit rate. :class:`OrderBatcher` collects the events that arrive while it waits — up to
``orders.batch_max``, for at most ``orders.batch_window_ms``, no longer once the batch is
full — runs the one order sequence for
each, in arrival order, in one unit of work, and commits once. Each caller's answer waits for
that commit.

A batch of paid orders runs over :class:`services.order_sets.BatchOrders`: read in a few set
queries, written one statement per table, a refused order (a replay, not enough stock…) left
out of the writes and answered as alone. When that port cannot finish the batch (the stock
changed meanwhile, a concurrent delivery of the same event…), or the batch holds refunds,
qualifications or check-ins, it runs over one :class:`services.order_store.SqlOrders`
statement by statement (which reads the batch's distributors once:
:meth:`services.order_store.SqlOrders.prefetch`).

One order, one outcome, as if each event had its own transaction: when any event of a batch
run statement by statement is refused or fails, the whole unit of work is rolled back and each
event of the batch is replayed alone, in the same order (:func:`services.orders.process_event`),
so a refused event writes nothing and the others are what they would have been one by one.
Batches run one at a time in a process, the next one gathering while the current one runs:
the busier the webhook, the larger the batches.

Worked example: 16 paid orders arrive within 2 ms → one transaction, one commit, 16 answers
``accepted``. Of 16 where the 9th finds the stock empty: 8 (or however many the stock allows)
``accepted`` and the rest 409, in the same one transaction. Of 15 paid orders and a refund:
run statement by statement; should the refund be refused, the 16 are replayed alone.

``orders.batch_max: 1`` turns it off: each event runs in its own unit of work, as a back-fill
always does. The composition root (``bot.app.build_env``) makes the one batcher of a process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass

from bot.base.env import Env
from bot.base.logs import trace
from core.products import EventType
from services.errors import ServiceError
from services.order_events import OrderEventIn
from services.order_sets import BatchOrders, Fallback
from services.order_store import SqlOrders
from services.orders import Accepted, event_of, handle_order_event, log_accepted, process_event

log = logging.getLogger(__name__)


@dataclass
class _Waiting:
    event: OrderEventIn
    source: str
    answer: asyncio.Future[Accepted]
    trace: str  # the call that submitted it: its log lines and what it wrote carry this


class OrderBatcher:
    """Gathers concurrent events into batches; see the module docstring."""

    def __init__(self, env: Env, batch_max: int, window_seconds: float):
        self.env, self.batch_max, self.window = env, batch_max, window_seconds
        self._waiting: list[_Waiting] = []
        self._runner: asyncio.Task[None] | None = None
        self._full = asyncio.Event()  # batch_max events are waiting: no need to wait the window out
        # How many batches ran as sets, together statement by statement, and replayed alone.
        self.sets = self.batches = self.replayed = 0
        self.fallbacks: Counter[str] = Counter()  # why batches of paid orders did not run as sets

    async def submit(self, event: OrderEventIn, source: str = "webhook") -> Accepted:
        """Run ``event`` (batched with others arriving now) and return once its transaction has
        committed; raises the :mod:`services.errors` error of a refusal as alone."""
        if self.batch_max <= 1:
            return await process_event(self.env, event, source)
        answer: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(event, source, answer, trace.get()))
        if len(self._waiting) >= self.batch_max:
            self._full.set()
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())
        return await answer

    async def _run(self) -> None:
        batch: list[_Waiting] = []
        try:
            while self._waiting:
                if len(self._waiting) < self.batch_max and self.window > 0:
                    self._full.clear()
                    with contextlib.suppress(TimeoutError):  # let the events arriving now join
                        await asyncio.wait_for(self._full.wait(), self.window)
                batch = self._next_batch()
                await self._settle(batch)
        finally:
            self._runner = None
            for left in [*batch, *self._waiting]:  # unanswered only when cancelled (the process stopping)
                if not left.answer.done():
                    left.answer.cancel()
            self._waiting.clear()

    def _next_batch(self) -> list[_Waiting]:
        """Up to ``batch_max`` waiting events, all of the first one's source."""
        source = self._waiting[0].source
        count = 0
        while count < min(self.batch_max, len(self._waiting)) and self._waiting[count].source == source:
            count += 1
        batch, self._waiting[:count] = self._waiting[:count], []
        return batch

    async def _settle(self, batch: list[_Waiting]) -> None:
        if all(w.event.type is EventType.PAID for w in batch):
            try:
                answers = await self._as_set(batch)
            except Exception as error:  # what the set path does not do itself: statement by statement
                log.debug("a batch of %d paid orders runs statement by statement: %r", len(batch), error)
                self.fallbacks[str(error) if isinstance(error, Fallback) else type(error).__name__] += 1
            else:
                self.sets += 1
                for waiting, result in zip(batch, answers, strict=True):
                    if waiting.answer.done():
                        continue
                    trace.set(waiting.trace)  # this runner's own context: no caller's changes
                    if isinstance(result, Accepted):
                        log_accepted(waiting.event, result, waiting.source)
                        waiting.answer.set_result(result)
                    else:
                        waiting.answer.set_exception(result)
                return
        if len(batch) > 1:
            try:
                accepted = await self._together(batch)
            except Exception as error:  # a refusal or a failure: each alone, as if never batched
                log.debug("a batch of %d order events is replayed alone: %r", len(batch), error)
                self.replayed += 1
            else:
                self.batches += 1
                for waiting, done in zip(batch, accepted, strict=True):
                    trace.set(waiting.trace)  # this runner's own context: no caller's changes
                    log_accepted(waiting.event, done, waiting.source)
                    if not waiting.answer.done():
                        waiting.answer.set_result(done)
                return
        for waiting in batch:
            trace.set(waiting.trace)
            try:
                result = await process_event(self.env, waiting.event, waiting.source)
            except Exception as error:
                if not waiting.answer.done():
                    waiting.answer.set_exception(error)
            else:
                if not waiting.answer.done():
                    waiting.answer.set_result(result)

    async def _as_set(self, batch: list[_Waiting]) -> list[Accepted | ServiceError]:
        """The batch's paid orders read and written as sets (:mod:`services.order_sets`); a
        refused order is answered as alone and writes nothing. Raises (and rolls back) when the
        batch needs the statement-by-statement path."""
        source = batch[0].source
        trace.set(next((w.trace for w in batch if w.trace), ""))  # traced if any of them is
        async with self.env.context() as ctx:
            port = BatchOrders(ctx, source, {w.event.event_id: w.event for w in batch})
            await port.start([event_of(w.event) for w in batch])
            answers: list[Accepted | ServiceError] = []
            for waiting in batch:
                trace.set(waiting.trace)  # what this event writes is noted under its own call
                try:
                    answers.append(await handle_order_event(ctx, waiting.event, source, port))
                except ServiceError as error:
                    answers.append(error)
            await port.write()
            return answers

    async def _together(self, batch: list[_Waiting]) -> list[Accepted]:
        """The batch's events in one unit of work; raises (and rolls back) at the first refusal."""
        source = batch[0].source
        trace.set(next((w.trace for w in batch if w.trace), ""))  # traced if any of them is
        async with self.env.context() as ctx:
            port = SqlOrders(ctx, source, {w.event.event_id: w.event for w in batch})
            await port.prefetch([event_of(w.event) for w in batch])
            accepted = []
            for waiting in batch:
                trace.set(waiting.trace)  # what this event writes is noted under its own call
                accepted.append(await handle_order_event(ctx, waiting.event, source, port))
                # What one event wrote is in the database before the next reads, as if it had
                # committed (a refund's claw-back reads the ledger lines of its order).
                await ctx.session.flush()
            return accepted

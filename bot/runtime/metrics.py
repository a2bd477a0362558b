"""Per-event figures: how many events of each kind came to what (handled, unmatched, stopped
before routing, failed), and how long handling took. Kept in memory by an :class:`EventMetrics`
the composition root owns; filled by the :class:`MetricsHook` middleware on the pre-routing
stage (``bot.runtime.middleware``); read by ``/healthz`` and the console's health block.

An event is counted once: figures of a batch are kept with its unit of work and added once it
commits, so a batch rolled back and replayed event by event counts each event once; a failure
is counted when the event is given up on (its last try), an outage not at all (the event is
tried again once the database is back).

Latency is the time from entering the stage to the handler's return, in milliseconds, kept
per kind as a count, a sum, a maximum and counts under fixed bounds, from which the median and
the 95th percentile are read as the bound they fall under (e.g. ``p95_ms: 5`` means 95 % of
events took at most 5 ms).
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.base.faults import database_unavailable
from bot.base.transport import Event, FriendRequest, Message, RoomInvitation, RoomJoin
from bot.runtime.middleware import CallNext, Outcome
from bot.runtime.router import MessageContext

BOUNDS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


def kind_of(event: Event) -> str:
    """``dm`` | ``group`` (messages) | ``friend_request`` | ``room_join`` | ``room_leave`` |
    ``room_invitation``."""
    if isinstance(event, Message):
        return "dm" if event.room is None else "group"
    if isinstance(event, FriendRequest):
        return "friend_request"
    if isinstance(event, RoomInvitation):
        return "room_invitation"
    return "room_join" if isinstance(event, RoomJoin) else "room_leave"


@dataclass
class Latency:
    count: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    under: list[int] = field(default_factory=lambda: [0] * (len(BOUNDS_MS) + 1))  # last: above all bounds

    def add(self, ms: float) -> None:
        self.count += 1
        self.total_ms += ms
        self.max_ms = max(self.max_ms, ms)
        self.under[bisect.bisect_left(BOUNDS_MS, ms)] += 1

    def quantile(self, q: float) -> float:
        """The bound under which a share ``q`` of the events fell (the maximum above them all)."""
        wanted, seen = q * self.count, 0
        for index, n in enumerate(self.under):
            seen += n
            if seen >= wanted and n:
                return float(BOUNDS_MS[index]) if index < len(BOUNDS_MS) else round(self.max_ms, 1)
        return round(self.max_ms, 1)

    def report(self) -> dict[str, Any]:
        mean = self.total_ms / self.count if self.count else 0.0
        return {
            "count": self.count,
            "mean_ms": round(mean, 2),
            "p50_ms": self.quantile(0.5),
            "p95_ms": self.quantile(0.95),
            "max_ms": round(self.max_ms, 1),
        }


class EventMetrics:
    """The process's event figures since it started."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, Outcome]] = Counter()
        self.latency: dict[str, Latency] = {}

    def add(self, kind: str, outcome: Outcome, ms: float) -> None:
        self.counts[(kind, outcome)] += 1
        self.latency.setdefault(kind, Latency()).add(ms)

    def count(self, kind: str, outcome: Outcome) -> int:
        return self.counts[(kind, outcome)]

    def report(self) -> dict[str, Any]:
        """``{"events": {kind: {outcome: n}}, "latency": {kind: {count, mean_ms, p50_ms, p95_ms,
        max_ms}}}``, kinds in name order."""
        events: dict[str, dict[str, int]] = {}
        for (kind, outcome), n in sorted(self.counts.items()):
            events.setdefault(kind, {})[outcome.value] = n
        return {"events": events, "latency": {kind: self.latency[kind].report() for kind in sorted(self.latency)}}


class MetricsHook:
    """The middleware counting every event into ``metrics``; first on the stage, so it sees
    what the others stop and times them too."""

    def __init__(self, metrics: EventMetrics, timer: Callable[[], float] = time.perf_counter):
        self.metrics, self.timer = metrics, timer

    async def __call__(self, event: Event, ctx: MessageContext, call_next: CallNext) -> Outcome:
        started = self.timer()
        try:
            outcome = await call_next()
        except Exception as error:
            if ctx.uow.last_try and not database_unavailable(error):
                self.metrics.add(kind_of(event), Outcome.FAILED, self._ms(started))
            raise
        pending = ctx.uow.attached(self, list[tuple[str, Outcome, float]])
        if not pending:
            ctx.uow.after_commit(lambda: self._commit(pending))
        pending.append((kind_of(event), outcome, self._ms(started)))
        return outcome

    def _ms(self, started: float) -> float:
        return 1000 * (self.timer() - started)

    def _commit(self, pending: list[tuple[str, Outcome, float]]) -> None:
        for kind, outcome, ms in pending:
            self.metrics.add(kind, outcome, ms)

"""Plan what-if: replay real order events under several commission plans at once.

Pure: plain data in (members, events, course terms, plans), plain results out; nothing is
written anywhere. Each event goes through the live pipeline's own sequence
(:func:`core.order_sequence.apply`: its checks, attribution, what is payable, the split,
pro-rata claw-backs, the upgrade cascade), over the in-memory port
(:class:`core.order_memory.MemoryOrders`) instead of the database; this module feeds it the
events in time order and sums up what it did.

What a replay takes as given, and why:

- Who sold, and every level, are the same under every plan: attribution looks at codes, locks
  and trials, and no upgrade condition counts commission. So each event is attributed once and
  each plan's split is applied to it — the same as replaying every plan alone, N times faster.
- ``Member.level`` is the level at the start of the replay (the caller decides it, see
  :func:`starting_level`); upgrades then happen as the pipeline would make them.
- A member's own purchases are self-purchases only from ``joined_at`` on (before, they bought
  as a plain buyer), and recruits count in upgrade metrics from their ``joined_at``. A ref code
  or a lock on an order counts whenever it appears: the order shows its owner existed.
- A member who is not ``active`` takes no part, as in the pipeline: their code and their own
  purchases are ignored, a sale attributed to them (lock, bound trial) pays nobody, and as a
  recruiter they get nothing.
- Events before ``start`` only warm up: they make locks, trials, "bought before" and upgrade
  metrics, but pay nothing and change no level. Money belongs to orders *paid* in the window
  [start, until); their later events (refunds, qualification) count with them.
- Events the pipeline would refuse are skipped and counted by the pipeline's reason: an
  unknown sku or order, a refund beyond what is left of the order after its earlier refunds
  (in money or in units), a repeated event or order id.

Worked example (sales preset, pool 180.00, margin 60.00): a C recruited by a B sells one unit
→ C 144.00, B 7.20, platform keeps 28.80 of the pool and the 60.00 margin. A third of the order
is refunded → C −48.00, B −2.40; pool net 120.00 = 96.00 + 4.80 + 19.20 kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.order_memory import Member, MemoryOrders
from core.order_sequence import Event, Refusal, Terms, apply, run_now
from core.plan import CommissionPlan
from core.whatif_books import PlanOutcome

__all__ = ["Event", "Member", "Replay", "Terms", "Upgrade", "replay", "starting_level"]


@dataclass(frozen=True)
class Upgrade:
    at: datetime
    person: str
    from_level: str
    to_level: str


@dataclass(frozen=True)
class Replay:
    start: datetime | None
    until: datetime | None
    pool: Decimal  # of the window's orders, net of refunds
    margin: Decimal
    replayed: Mapping[str, int]  # events in the window by type
    warm_up: int  # events before the window
    skipped: Mapping[str, int]  # reason → events
    orders: int  # paid in the window
    attributed: int  # of those, with a seller
    upgrades: tuple[Upgrade, ...]
    levels: Mapping[str, str]  # every member's level at the end
    population: tuple[str, ...]  # active members who had joined by the end, and anyone who earned
    plans: tuple[PlanOutcome, ...]


def starting_level(current: str, joined_at: datetime | None, start: datetime | None, levels: Sequence[str]) -> str:
    """The level a replay starts a member at: the entry (lowest) level when they joined after
    ``start``, their current level otherwise (their level history is not kept).

    Example: start 1 March; joined 5 March, now B → C; joined in January, now B → B."""
    if start is not None and joined_at is not None and joined_at > start:
        return levels[0]
    return current


def replay(
    members: Sequence[Member],
    events: Iterable[Event],
    plans: Sequence[CommissionPlan],
    terms: Terms,
    *,
    start: datetime | None = None,
    until: datetime | None = None,
    on_progress: Callable[[int], object] | None = None,
    unique_ids: bool = False,
) -> Replay:
    """Replay ``events`` under every plan; see the module docstring. A sequence (a list) is
    stable-sorted by time first; any other iterable — a stream read from the database in
    replay order — is taken as it comes and never held whole, so memory grows with the replay's
    state, not with the events: an event earlier than the one before it raises ValueError.
    ``on_progress(n)`` is told every few thousand events how many more were done.
    ``unique_ids``: no two events share an id (they come from a table keyed by it), so the ids
    seen are not kept to refuse repeats (some 90 bytes an event)."""
    world = MemoryOrders(members, plans, terms, start, unique_ids=unique_ids)
    return _run(world, events, terms, start, until, on_progress)


PROGRESS_EVERY = 4096


def _run(
    world: MemoryOrders,
    events: Iterable[Event],
    terms: Terms,
    start: datetime | None,
    until: datetime | None,
    on_progress: Callable[[int], object] | None,
) -> Replay:
    replayed: defaultdict[str, int] = defaultdict(int)
    skipped: defaultdict[str, int] = defaultdict(int)
    warm_up = done = 0
    ordered = sorted(events, key=lambda e: e.at) if isinstance(events, Sequence) else _in_order(events)
    for event in ordered:
        done += 1
        if on_progress is not None and done % PROGRESS_EVERY == 0:
            on_progress(PROGRESS_EVERY)
        if until is not None and event.at >= until:
            continue
        try:
            run_now(apply(world, event, terms))
        except Refusal as refusal:  # refused, as the pipeline refuses it: nothing recorded, not even the id
            if refusal.code != "duplicate_event":
                world.forget(event.event_id)
            skipped[refusal.code] += 1
            continue
        if world.counts(event.at):
            replayed[event.type.value] += 1
        else:
            warm_up += 1
    if on_progress is not None and done % PROGRESS_EVERY:
        on_progress(done % PROGRESS_EVERY)
    outcomes = world.books.outcomes()
    earners = {person for outcome in outcomes for person in outcome.earnings}
    population = tuple(
        m.id
        for m in world.members.values()
        if m.id in earners or (m.active and (m.joined_at is None or until is None or m.joined_at < until))
    )
    return Replay(
        start=start,
        until=until,
        pool=world.books.pool,
        margin=world.books.margin,
        replayed=dict(replayed),
        warm_up=warm_up,
        skipped=dict(skipped),
        orders=world.counted_orders,
        attributed=world.attributed,
        upgrades=tuple(Upgrade(at, up.person, up.from_level, up.to_level) for at, up in world.upgrades),
        levels=dict(world.levels),
        population=population,
        plans=outcomes,
    )


def _in_order(events: Iterable[Event]) -> Iterator[Event]:
    """A stream of events, checked to come in time order (what sorting a list would give)."""
    last: datetime | None = None
    for event in events:
        if last is not None and event.at < last:
            raise ValueError(f"event {event.event_id} at {event.at} comes after one at {last}: not in time order")
        last = event.at
        yield event

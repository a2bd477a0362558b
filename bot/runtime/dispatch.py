"""From the transport's events to handlers, in shared transactions.

Each event passes the pre-routing stage first (``bot.runtime.middleware``: the middlewares the
composition root registers, in order — the event figures, the answer limits), which may stop
it; then the first matching route handles it.

The transport calls :meth:`Dispatcher.submit` for every event (in order within one
conversation) and gets control back once the event's effects are committed. Events waiting
together are handled in one unit of work and committed once — a commit per message would cap
a process near the database's single-insert rate. If a handler raises, the batch is rolled
back and its events are replayed one by one, so only the failing one is lost: it is logged with
its context and the person gets a polite answer. Handlers only write rows (replies go to the
outbox), so replaying them is safe.

When the database cannot be reached (``bot.base.faults``) — or sits on a batch for
``runtime.batch_timeout_seconds`` — nothing is lost and nobody gets the polite error: the batch,
everything queued behind it and every event taken until the database is back go to the inbox
spool (``bot.runtime.spool``, on local disk), ``submit`` returns as soon as an event is written there,
and the batch at the head is tried again with doubling waits. Once it commits, the spool is
worked off in order, then events go the fast way again. :meth:`stop` finishes within its grace
period whatever the database does: what is not committed by then stays in the spool, and the
next start handles it before anything new.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select

from bot.base.env import Env
from bot.base.faults import Backoff, database_unavailable, doing
from bot.base.logs import trace
from bot.base.metrics import Metrics
from bot.base.outbox import queue_text
from bot.base.transport import Event, FriendRequest, Message, RoomInvitation, RoomJoin, Transport
from bot.runtime.middleware import AnswerLimiter, Middleware, Outcome, run_stage
from bot.runtime.router import MessageContext, Role, Router, first_match, role_of
from bot.runtime.spool import Spool
from models import group_task_queries as group_tasks
from models.people import Distributor

log = logging.getLogger(__name__)
LOGGED_PER_BATCH = 20  # a burst's batch is one log line, not hundreds of ids


class HandlerFailed(Exception):
    def __init__(self, route: str, event: Event | None, role: Role = Role.GUEST):
        super().__init__(route)
        self.route, self.event, self.role = route, event, role


class Dispatcher:
    def __init__(
        self,
        env: Env,
        routers: Sequence[Router],
        transport: Transport | None = None,
        *,
        middlewares: Sequence[Middleware] | None = None,
        max_batch: int = 256,
        spool: Spool | None = None,
    ):
        """``middlewares``: the pre-routing stage, in order; without them, the answer limits
        from the configuration alone (a dispatcher never answers without its limits by default)."""
        self.env = env
        self.routers = list(routers)
        self.transport = transport
        self.middlewares: list[Middleware] = (
            list(middlewares) if middlewares is not None else [AnswerLimiter.for_env(env)]
        )
        self.max_batch = max_batch
        self.queue: asyncio.Queue[tuple[Event, asyncio.Future[None]]] = asyncio.Queue()
        self.spool = spool if spool is not None else Spool()
        self.spooling = False  # the database is out, or what it missed is not worked off yet
        runtime = env.settings.raw.runtime
        self.backoff = Backoff(cap=float(runtime.retry_max_seconds))
        self.batch_timeout = float(runtime.batch_timeout_seconds)
        self.handled = 0
        self.failed = 0
        self.waiting_since: datetime | None = None  # when the spool last started filling
        self._taken: list[tuple[Event, asyncio.Future[None]]] = []  # the batch being handled
        self._current: list[Event] = []  # its events not yet committed
        self._caught_up = asyncio.Event()
        self._failing = False  # the last try met an outage
        self._worker: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._worker is not None and not self._worker.done()

    @property
    def in_progress(self) -> int:
        """Events taken and being handled the fast way (not in the spool)."""
        return self.queue.qsize() + len(self._current)

    async def submit(self, event: Event) -> None:
        """The transport's sink: returns when the event's effects are committed — or, while
        the database is out, once the event is written to the inbox spool."""
        if self._worker is None:
            raise RuntimeError("the dispatcher is not running")
        account = self.transport.account if self.transport is not None else self.env.settings.helper_account
        self.env.kept(Metrics).messages_in.labels(account, type(event).__name__).inc()
        if self.spooling:
            if self._admitted(event):
                self.spool.append([event])
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((event, done))
        await done

    def start(self) -> None:
        """Start the worker; events an earlier run left in the spool are handled first."""
        if waiting := self.spool.open():
            log.warning("chat: %d message(s) taken before the last stop are handled first", waiting)
            self._spool_mode()
        self._worker = asyncio.create_task(self._run(), name="dispatcher")

    async def stop(self, grace: float | None = None) -> None:
        """Finish what is taken, within ``grace`` seconds (None: however long it takes). What
        is not committed by then is kept in the spool for the next start — at once when the
        database is out and the spool is on disk already."""
        if self._worker is None:
            return
        # While the database is out and everything taken is on disk, waiting would gain nothing.
        if not (self.spooling and self.spool.path is not None and self._failing):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await self._drained()
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        self._worker = None
        left: list[Event] = [*self._current]
        self._current = []
        self._acknowledge(self._taken)
        while not self.queue.empty():
            taken = self.queue.get_nowait()
            left.append(taken[0])
            self._acknowledge([taken])
        self.spool.append(left)  # outside an outage the spool is empty: nothing goes before them
        if self.spool:
            fate = f"kept in {self.spool.path}; the next start handles them" if self.spool.path else "lost (no spool)"
            log.warning("chat: stopping with %d message(s) not committed: %s", len(self.spool), fate)
        self.spool.close()

    async def _drained(self) -> None:
        while True:
            await self.queue.join()
            if not self.spooling:
                return
            await self._caught_up.wait()

    def _spool_mode(self) -> None:
        if not self.spooling:
            self.spooling, self.waiting_since = True, datetime.now(UTC)
            self._caught_up.clear()

    async def _run(self) -> None:
        doing.set("chat")
        while True:
            if self.spooling:
                await self._work_off_spool()
                continue
            batch = [await self.queue.get()]
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self._taken = batch
            self._current = [event for event, _ in batch if self._admitted(event)]
            try:
                await self._process(self._current)
            except Exception as error:
                if database_unavailable(error):
                    self._failing = True
                    # What is not committed, then everything queued, then whatever comes next
                    # goes to the spool, in that order; the transports may go on meanwhile.
                    self._spool_mode()
                    self.spool.append(self._current)
                    while not self.queue.empty():
                        queued = self.queue.get_nowait()
                        batch.append(queued)
                        self.spool.append([queued[0]])
                else:  # _process handles every other error itself; a bug must not end chat
                    log.exception("chat: unexpected error; %d message(s) dropped", len(self._current))
            # Not in a ``finally``: when stop() cancels this task mid-batch, it keeps them.
            self._current = []
            self._acknowledge(batch)

    def _acknowledge(self, batch: list[tuple[Event, asyncio.Future[None]]]) -> None:
        for _, done in batch:
            if not done.done():
                done.set_result(None)
            self.queue.task_done()
        self._taken = []

    async def _work_off_spool(self) -> None:
        events = self.spool.head(self.max_batch)
        if not events:
            self.spooling, self.waiting_since = False, None
            self._caught_up.set()
            return
        remaining = list(events)
        try:
            await self._process(remaining)
        except Exception as error:
            self.spool.done(len(events) - len(remaining))
            self._failing = database_unavailable(error)
            if not self._failing:
                log.exception("chat: unexpected error; %d message(s) dropped", len(remaining))
                self.spool.done(len(remaining))
                return
            await asyncio.sleep(self.backoff.next())
            return
        self.spool.done(len(events))
        self.backoff.reset()
        self._failing = False
        if not self.spool:
            log.info("chat: caught up with the messages taken while the database was out")

    async def _process(self, events: list[Event]) -> None:
        """Commit ``events``, emptying the list as they are committed (or given up as failed);
        a database outage propagates with the rest still in the list."""
        if not events:
            return
        first = events[0]  # the batch's log lines and writes carry it
        trace.set(f"chat:{getattr(first, 'id', '') or describe_event(first)}")
        try:
            await self._bounded(events)
        except Exception as error:
            if database_unavailable(error):
                raise
            if len(events) == 1:
                await self._failed(events[0], error)
            else:
                while events:  # replay one by one: only the failing event is lost
                    try:
                        await self._bounded(events[:1])
                    except Exception as single:
                        if database_unavailable(single):
                            raise
                        await self._failed(events[0], single)
                    del events[0]
        events.clear()

    async def _bounded(self, events: list[Event]) -> None:
        """One unit of work, given up (rolled back) when the database sits on it: a database
        that hangs is an outage too, and its events wait in the spool like any other."""
        try:
            async with asyncio.timeout(self.batch_timeout):
                await self._handle_all(events, last_try=len(events) == 1)
        except TimeoutError as hung:
            self.env.db.outage.failed(hung, f"chat: no commit within {self.batch_timeout:g} s")
            raise

    def _admitted(self, event: Event) -> bool:
        """Not the helper's own messages echoed back: WeChat names their sender by the helper's
        WeChat id (``self_id``), which is not the logical account name."""
        if self.transport is None or not isinstance(event, Message):
            return True
        return event.sender != (self.transport.self_id or self.transport.account)

    async def _handle_all(self, events: list[Event], *, last_try: bool) -> None:
        env = self.env
        # Every message is handled; what is limited is how often the bot answers one person or
        # one room (the answer limits on the pre-routing stage, read by MessageContext.reply).
        async with env.unit_of_work(last_try=last_try) as uow:
            session = uow.session
            now = env.clock.now()
            senders = {e.sender for e in events if isinstance(e, Message)}
            people = (
                {
                    d.contact_id: d
                    for d in await session.scalars(select(Distributor).where(Distributor.contact_id.in_(senders)))
                }
                if senders
                else {}
            )
            if self.transport is not None and self.transport.capabilities.private_window is not None:
                # a person writing opens their window again: what waited for it goes out now
                writers = {e.sender for e in events if isinstance(e, Message) and e.room is None}
                await group_tasks.release_held(session, self.transport.account, writers, now)
            handled: list[str] = []  # what the log line names
            routed = 0
            for event in events:
                sender = getattr(event, "sender", None) or getattr(event, "contact", None) or ""
                distributor = people.get(sender)
                ctx = MessageContext(
                    session=session,
                    settings=env.settings,
                    renderer=env.renderer,
                    now=now,
                    uow=uow,
                    kept=env.kept,
                    transport=self.transport,
                    event=event,
                    role=role_of(sender, distributor, env.settings, getattr(event, "room", None)),
                    distributor=distributor,
                )
                try:
                    outcome = await run_stage(self.middlewares, event, ctx, self._route)
                except HandlerFailed:
                    raise
                except Exception as exc:
                    if database_unavailable(exc):
                        raise  # not the handler's fault: the batch waits for the database
                    raise HandlerFailed("pre-routing", event, ctx.role) from exc
                if outcome is Outcome.HANDLED:
                    routed += 1
                    handled.append(f"{describe_event(event)} → {ctx.route}")
                elif outcome is Outcome.STOPPED:
                    handled.append(f"{describe_event(event)} stopped before routing")
        self.handled += routed  # counted once committed: a batch tried again counts once
        if handled:
            shown = "; ".join(handled[:LOGGED_PER_BATCH])
            more = f"; and {len(handled) - LOGGED_PER_BATCH} more" if len(handled) > LOGGED_PER_BATCH else ""
            log.info("handled %d event(s) in one transaction: %s%s", len(handled), shown, more)

    async def _route(self, ctx: MessageContext) -> Outcome:
        """The end of the stage: the first matching route handles the event."""
        match = first_match(self.routers, ctx)
        if match is None:
            return Outcome.UNMATCHED
        route, found = match
        ctx.route = route.name
        try:
            await route.handle(ctx, found)
        except Exception as exc:
            if database_unavailable(exc):
                raise  # not the handler's fault: the batch waits for the database
            raise HandlerFailed(route.name, ctx.event, ctx.role) from exc
        return Outcome.HANDLED

    async def _failed(self, event: Event, error: Exception) -> None:
        failure = error if isinstance(error, HandlerFailed) else HandlerFailed("dispatcher", event)
        self.failed += 1
        log.error(
            "handler %s failed on %s from %s in %s: %r",
            failure.route,
            type(event).__name__,
            getattr(event, "sender", getattr(event, "contact", "?")),
            getattr(event, "room", None) or "a DM",
            getattr(event, "text", "")[:80],
            exc_info=failure.__cause__ or error,
        )
        # A reply is due privately, to a mention, and to a manager's or ops' command in a group.
        commanded = failure.role in (Role.MANAGER, Role.OPS)
        if not isinstance(event, Message) or (event.room is not None and not event.mentions_self and not commanded):
            return
        try:
            async with self.env.context() as ctx:
                queue_text(
                    ctx,
                    target=event.room or event.sender,
                    room=event.room is not None,
                    template="error_fallback",
                    data={},
                    account=self.transport.account if self.transport else None,
                )
        except Exception as fallback:
            if database_unavailable(fallback):
                raise  # the event is tried again once the database is back
            log.exception("could not queue the fallback answer either")


def describe_event(event: Event) -> str:
    """An event as the log names it: what it is, its id, who and where."""
    if isinstance(event, Message):
        return f"message {event.id} from {event.sender}" + (f" in {event.room}" if event.room else "")
    if isinstance(event, FriendRequest):
        return f"friend request {event.id} from {event.contact}"
    if isinstance(event, RoomInvitation):
        return f"room invitation {event.id} from {event.inviter} to {event.room or event.topic}"
    verb = "join" if isinstance(event, RoomJoin) else "leave"
    return f"{verb} of {','.join(event.named) or '?'} in {event.room}"

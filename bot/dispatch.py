"""From the transport's events to handlers, in shared transactions.

The transport calls :meth:`Dispatcher.submit` for every event (in order within one
conversation) and gets control back once the event's effects are committed. Events waiting
together are handled in one unit of work and committed once — a commit per message would cap
a process near the database's single-insert rate. If a handler raises, the batch is rolled
back and its events are replayed one by one, so only the failing one is lost: it is logged with
its context and the person gets a polite answer. Handlers only write rows (replies go to the
outbox), so replaying them is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from sqlalchemy import select

from bot.limits import AnswerBatch, AnswerLimits
from bot.outbox import queue_text
from bot.router import MessageContext, Role, Router, first_match, role_of
from bot.services import Services
from bot.transport import Event, FriendRequest, Message, RoomInvitation, RoomJoin, Transport
from models.people import Distributor

log = logging.getLogger(__name__)
LOGGED_PER_BATCH = 20  # a burst's batch is one log line, not hundreds of ids


class HandlerFailed(Exception):
    def __init__(self, route: str, event: Event, role: Role = Role.GUEST):
        super().__init__(route)
        self.route, self.event, self.role = route, event, role


class Dispatcher:
    def __init__(
        self,
        services: Services,
        routers: Sequence[Router],
        transport: Transport | None = None,
        *,
        max_batch: int = 256,
        person_limit: int | None = None,
        room_limit: int | None = None,
    ):
        self.services = services
        self.routers = list(routers)
        self.transport = transport
        self.max_batch = max_batch
        # Answer limits from the configuration (``answers``); person_limit/room_limit replace
        # every role's budget and the group's.
        self.limits = AnswerLimits.from_settings(services.settings, person=person_limit, room=room_limit)
        self.queue: asyncio.Queue[tuple[Event, asyncio.Future[None]]] = asyncio.Queue()
        self.handled = 0
        self.failed = 0
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, event: Event) -> None:
        """The transport's sink: returns when the event's effects are committed."""
        if self._worker is None:
            raise RuntimeError("the dispatcher is not running")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((event, done))
        await done

    def start(self) -> None:
        self._worker = asyncio.create_task(self._run(), name="dispatcher")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._worker is None:
            return
        await self.queue.join()
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        self._worker = None

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self._batch(batch)
            finally:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
                    self.queue.task_done()

    async def _batch(self, batch: list[tuple[Event, asyncio.Future[None]]]) -> None:
        events = [event for event, _ in batch if self._admitted(event)]
        if not events:
            return
        try:
            await self._handle_all(events)
        except HandlerFailed as failure:
            if len(events) == 1:
                await self._failed(failure)
                return
            for event in events:  # replay one by one: only the failing event is lost
                try:
                    await self._handle_all([event])
                except HandlerFailed as single:
                    await self._failed(single)

    def _admitted(self, event: Event) -> bool:
        """Not the helper's own messages echoed back: WeChat names their sender by the helper's
        WeChat id (``self_id``), which is not the logical account name."""
        if self.transport is None or not isinstance(event, Message):
            return True
        return event.sender != (self.transport.self_id or self.transport.account)

    async def _handle_all(self, events: list[Event]) -> None:
        services = self.services
        # Every message is handled; what is limited is how often the bot answers one person or
        # one room (MessageContext.reply), decided against this process's memory of answers
        # and counted from the commit on.
        answers = AnswerBatch(services.answered, self.limits)
        async with services.db.unit_of_work() as session:
            now = services.clock.now()
            senders = {e.sender for e in events if isinstance(e, Message)}
            people = (
                {
                    d.contact_id: d
                    for d in await session.scalars(select(Distributor).where(Distributor.contact_id.in_(senders)))
                }
                if senders
                else {}
            )
            handled: list[str] = []
            for event in events:
                sender = getattr(event, "sender", None) or getattr(event, "contact", None) or ""
                distributor = people.get(sender)
                ctx = MessageContext(
                    session=session,
                    settings=services.settings,
                    renderer=services.renderer,
                    now=now,
                    transport=self.transport,
                    event=event,
                    role=role_of(sender, distributor, services.settings, getattr(event, "room", None)),
                    distributor=distributor,
                    answers=answers,
                )
                route = first_match(self.routers, ctx)
                if route is None:
                    continue
                try:
                    await route.handler(ctx)
                except Exception as exc:
                    raise HandlerFailed(route.name, event, ctx.role) from exc
                self.handled += 1
                handled.append(f"{describe_event(event)} → {route.name}")
        answers.commit()
        services.committed()
        if handled:
            shown = "; ".join(handled[:LOGGED_PER_BATCH])
            more = f"; and {len(handled) - LOGGED_PER_BATCH} more" if len(handled) > LOGGED_PER_BATCH else ""
            log.info("handled %d event(s) in one transaction: %s%s", len(handled), shown, more)

    async def _failed(self, failure: HandlerFailed) -> None:
        self.failed += 1
        event = failure.event
        log.error(
            "handler %s failed on %s from %s in %s: %r",
            failure.route,
            type(event).__name__,
            getattr(event, "sender", getattr(event, "contact", "?")),
            getattr(event, "room", None) or "a DM",
            getattr(event, "text", "")[:80],
            exc_info=failure.__cause__,
        )
        # A reply is due privately, to a mention, and to a manager's or ops' command in a group.
        commanded = failure.role in (Role.MANAGER, Role.OPS)
        if not isinstance(event, Message) or (event.room is not None and not event.mentions_self and not commanded):
            return
        try:
            async with self.services.context() as ctx:
                queue_text(
                    ctx,
                    target=event.room or event.sender,
                    room=event.room is not None,
                    template="error_fallback",
                    data={},
                    account=self.transport.account if self.transport else None,
                )
        except Exception:
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

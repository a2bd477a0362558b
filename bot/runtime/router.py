"""Routing incoming events to handlers.

Each handler module has a :class:`Router`; handlers register with filters — plain functions
of the :class:`MessageContext` (private or group, keyword, command, the sender's role).
``handlers/__init__.py`` lists the routers explicitly; the first handler whose filters all
pass wins; one fallback comes last.

**What filters found, handlers receive** (the idea of aiogram 3). A filter returns False (or
None) to refuse, True to pass, or a non-empty mapping to pass *and* hand on what it found;
the mappings of a route's filters are merged, and the handler gets, by keyword, the names its
signature asks for — nothing is parsed twice, nothing re-checked with an ``assert``. Example::

    @router.message(group_command("stock"), managers)
    async def set_stock(ctx, command: GroupCommand, brand: BrandSettings) -> None: ...

``group_command`` parsed the command and found the room's brand; ``set_stock`` takes both.
Every handler may also take the ``event`` (of the types its route's :func:`event` filter let
through) and, on a :meth:`Router.message` route, the ``message``
(:class:`~bot.base.transport.Message`); :func:`group` hands on the ``room``,
:func:`with_transport` the ``transport``. A handler
asking for a name no filter of its route hands on fails on its first event, naming both.
"""

from __future__ import annotations

import inspect
import logging
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from typing import Any, TypeVar

from bot.base.context import SYSTEM, Actor, Context
from bot.base.outbox import count_withheld, queue_row
from bot.base.priorities import Priority, priority_of
from bot.base.transport import Event, FriendRequest, Message, RoomInvitation, RoomJoin, RoomLeave, Transport
from bot.runtime.limits import AnswerBatch, Verdict
from models.people import Distributor
from models.statuses import DistributorStatus

log = logging.getLogger(__name__)
T = TypeVar("T")
LATER = "answer_later"  # the short "稍后再试" someone past their answer budget gets once per window


class Role(StrEnum):
    OPS = "ops"
    MANAGER = "manager"  # a brand course manager
    DISTRIBUTOR = "distributor"
    GUEST = "guest"  # anyone else


@dataclass
class MessageContext(Context):
    """The context of one incoming event: the unit of work's session, configuration, renderer,
    clock reading, the transport it came through, and who sent it."""

    transport: Transport | None = None
    event: Event | None = None
    role: Role = Role.GUEST
    distributor: Distributor | None = None  # the sender's distributor row, if they are one
    answers: AnswerBatch | None = None  # this unit of work's answer limits (bot.runtime.middleware.AnswerLimiter)
    route: str | None = None  # the route handling the event, once routing found one
    _once: dict[Callable[..., Any], Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # A chat command acts for its sender, in the role the router gave them.
        if self.actor is SYSTEM and self.event is not None:
            sender = getattr(self.event, "sender", None) or getattr(self.event, "contact", None) or "?"
            self.actor = Actor(str(sender), self.role.value, "chat")

    @property
    def message(self) -> Message:
        assert isinstance(self.event, Message)
        return self.event

    def once(self, read: Callable[[MessageContext], T]) -> T:
        """``read(self)``, worked out once per event however many filters ask (e.g. the group
        command a message gives, which a dozen routes' filters look at)."""
        if self._once is None:
            self._once = {}
        if read not in self._once:
            self._once[read] = read(self)
        return self._once[read]  # type: ignore[no-any-return]

    @cached_property
    def text(self) -> str:
        """The message as filters compare it (normalised once, read by every filter)."""
        return normalise(self.event.text) if isinstance(self.event, Message) else ""

    def reply(self, template: str, data: dict[str, Any] | None = None) -> None:
        """Answer where the message came from: privately, or in the room mentioning the sender —
        within the answer limits (bot.runtime.limits): the same answer is not repeated, someone past
        their budget gets one short "稍后再试" in a private chat, then nothing for a while."""
        message, account = self.message, self.transport.account if self.transport else None
        text = self.renderer.render(template, data or {})
        if self.answers is not None:
            budgeted = priority_of("text", template) >= Priority.ANSWER  # welcomes always go
            verdict = self.answers.decide(
                message.sender, self.role.value, message.room, template, text, self.now, budgeted=budgeted
            )
            if verdict is not Verdict.ANSWER:
                reason = "repeat" if verdict is Verdict.REPEAT else "limit"
                count_withheld(self, account=account, reason=reason, template=template)
                if verdict is not Verdict.LATER:
                    return
                log.info("answers to %s limited for a while", message.sender)
                template = LATER
                text = self.renderer.render(LATER, {"seconds": self.answers.retry_after(message.sender, self.now)})
        queue_row(
            self,
            account=account or self.settings.helper_account,
            kind="text",
            target=message.room or message.sender,
            target_is_room=message.room is not None,
            template=template,
            text=text,
            payload={"mentions": [message.sender]} if message.room is not None else {},
        )

    @property
    def account(self) -> str:
        """The helper account the event came through (the configured one without a transport)."""
        return self.transport.account if self.transport else self.settings.helper_account

    @property
    def helper_id(self) -> str:
        """The helper's own contact id as WeChat shows it in joins, member lists and mentions
        (``wxid_…`` on WeChat): not the logical account name outbox rows carry."""
        if self.transport is not None and self.transport.self_id:
            return self.transport.self_id
        return self.transport.account if self.transport else self.settings.helper_account

    def answered_within(self, template: str, every: timedelta) -> bool:
        """Whether the sender was answered with ``template`` less than ``every`` ago (as far as
        this process remembers: see bot.runtime.limits)."""
        last = self.answers.last(self.message.sender, template) if self.answers is not None else None
        return last is not None and self.now - last < every

    def brand_of_room(self) -> str | None:
        room = self.message.room if isinstance(self.event, Message) else getattr(self.event, "room", None)
        if room is None:
            return None
        return next((b.id for b in self.settings.raw.brands for g in b.groups if g.room_id == room), None)


Found = Mapping[str, Any]  # what a filter hands on to the handler
Filter = Callable[[MessageContext], bool | Found | None]
Handler = Callable[..., Awaitable[None]]  # (ctx, **what its filters found that it names)


def normalise(text: str) -> str:
    """Full width to half width, lower case, single spaces: how keywords are compared."""
    return " ".join(unicodedata.normalize("NFKC", text or "").lower().split())


# Filters.
def private(ctx: MessageContext) -> bool:
    return isinstance(ctx.event, Message) and ctx.event.room is None


def group(ctx: MessageContext) -> Found | None:
    """A message in a room; hands on the ``room``."""
    if isinstance(ctx.event, Message) and ctx.event.room is not None:
        return {"room": ctx.event.room}
    return None


def text_message(ctx: MessageContext) -> bool:
    return isinstance(ctx.event, Message) and ctx.event.kind == "text"


def keyword(*words: str) -> Filter:
    """The message contains one of ``words`` (compared without width, case or spaces)."""
    wanted = [normalise(w).replace(" ", "") for w in words]
    return lambda ctx: any(w in ctx.text.replace(" ", "") for w in wanted)


def command(*names: str) -> Filter:
    """The message starts with one of ``names`` (e.g. "注册 ABC123")."""
    wanted = tuple(normalise(n) for n in names)
    return lambda ctx: ctx.text.startswith(wanted)


def exactly(*words: str) -> Filter:
    wanted = {normalise(w).replace(" ", "") for w in words}
    return lambda ctx: ctx.text.replace(" ", "") in wanted


def role(*roles: Role) -> Filter:
    allowed = set(roles)
    return lambda ctx: ctx.role in allowed


def event(*types: type) -> Filter:
    """An event of one of ``types`` (a handler takes it as ``event``: see :meth:`Route.handle`)."""
    return lambda ctx: isinstance(ctx.event, types)


def with_transport(ctx: MessageContext) -> Found | None:
    """The event came through a transport (not a replay without one); hands on ``transport``."""
    return {"transport": ctx.transport} if ctx.transport is not None else None


def _message(ctx: MessageContext) -> bool:
    return isinstance(ctx.event, Message)


@dataclass(frozen=True)
class Route:
    name: str
    filters: tuple[Filter, ...]
    handler: Handler
    wants: frozenset[str] | None  # the names the handler takes besides ctx; None: any (``**found``)
    needs: frozenset[str] = frozenset()  # those of them without a default

    async def handle(self, ctx: MessageContext, found: Found) -> None:
        """Call the handler with what it names of ``found``, and of the event itself: ``event``
        (of the types its route's filters let through) and, for a message, ``message`` — given
        here rather than by the filters, so the filters that run for every route stay free of
        allocations."""
        event = ctx.event
        found = {"event": event, **({"message": event} if isinstance(event, Message) else {}), **found}
        if self.wants is None:
            await self.handler(ctx, **found)
            return
        missing = self.needs - found.keys()
        if missing:
            raise TypeError(f"{self.name} asks for {', '.join(sorted(missing))}, which no filter of its route hands on")
        await self.handler(ctx, **{name: found[name] for name in self.wants if name in found})


def wanted_names(handler: Handler) -> tuple[frozenset[str] | None, frozenset[str]]:
    """The keyword arguments ``handler`` takes after the context (None: any), and those of
    them it cannot do without (no default)."""
    parameters = list(inspect.signature(handler).parameters.values())[1:]
    needs = frozenset(p.name for p in parameters if p.default is inspect.Parameter.empty and p.kind in NAMED)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None, needs
    return frozenset(p.name for p in parameters), needs


NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class Router:
    def __init__(self, name: str):
        self.name = name
        self.routes: list[Route] = []

    def message(self, *filters: Filter) -> Callable[[Handler], Handler]:
        """Register a handler for messages passing every filter (it may take the ``message``)."""
        return self.on(_message, *filters)

    def on(self, *filters: Filter) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            name = f"{self.name}.{handler.__name__}"
            self.routes.append(Route(name, tuple(filters), handler, *wanted_names(handler)))
            return handler

        return register


NOTHING: Found = {}


def first_match(routers: Iterable[Router], ctx: MessageContext) -> tuple[Route, Found] | None:
    """The first route whose filters all pass, with what they found (merged in filter order)."""
    # Plain loops: this runs for every message across every route, and a generator per route
    # was most of its cost.
    for router in routers:
        for route in router.routes:
            found: Found = NOTHING
            for condition in route.filters:
                result = condition(ctx)
                if not result:
                    break
                if result is not True:
                    found = {**found, **result}
            else:
                return route, found
    return None


def role_of(contact: str, distributor: Distributor | None, settings: Any, room: str | None) -> Role:
    """Ops first, then the course manager of this room's brand (any brand in DMs), then
    distributors; everyone else is a guest."""
    if contact in settings.raw.ops:
        return Role.OPS
    for brand in settings.raw.brands:
        if contact in brand.managers and (room is None or any(g.room_id == room for g in brand.groups)):
            return Role.MANAGER
    if distributor is not None and distributor.status == DistributorStatus.ACTIVE:
        return Role.DISTRIBUTOR
    return Role.GUEST


EVENT_TYPES: Sequence[type] = (Message, FriendRequest, RoomJoin, RoomLeave, RoomInvitation)

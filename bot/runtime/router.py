"""Routing incoming events to handlers.

Each handler module has a :class:`Router`; handlers register with filters — plain predicates
over the :class:`MessageContext` (private or group, keyword, command, the sender's role).
``handlers/__init__.py`` lists the routers explicitly; the first handler whose filters all
pass wins; one fallback comes last.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from typing import Any

from bot.base.context import SYSTEM, Actor, Context
from bot.base.outbox import count_withheld, queue_row
from bot.base.priorities import Priority, priority_of
from bot.base.transport import Event, FriendRequest, Message, RoomInvitation, RoomJoin, RoomLeave, Transport
from bot.runtime.limits import AnswerBatch, Verdict
from models.people import Distributor
from models.statuses import DistributorStatus

log = logging.getLogger(__name__)
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
    answers: AnswerBatch | None = None  # the dispatcher's per-person/per-room answer limits

    def __post_init__(self) -> None:
        # A chat command acts for its sender, in the role the router gave them.
        if self.actor is SYSTEM and self.event is not None:
            sender = getattr(self.event, "sender", None) or getattr(self.event, "contact", None) or "?"
            self.actor = Actor(str(sender), self.role.value, "chat")

    @property
    def message(self) -> Message:
        assert isinstance(self.event, Message)
        return self.event

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


Filter = Callable[[MessageContext], bool]
Handler = Callable[[MessageContext], Awaitable[None]]


def normalise(text: str) -> str:
    """Full width to half width, lower case, single spaces: how keywords are compared."""
    return " ".join(unicodedata.normalize("NFKC", text or "").lower().split())


# Filters: plain predicates.
def private(ctx: MessageContext) -> bool:
    return isinstance(ctx.event, Message) and ctx.event.room is None


def group(ctx: MessageContext) -> bool:
    return isinstance(ctx.event, Message) and ctx.event.room is not None


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
    return lambda ctx: isinstance(ctx.event, types)


@dataclass(frozen=True)
class Route:
    name: str
    filters: tuple[Filter, ...]
    handler: Handler


class Router:
    def __init__(self, name: str):
        self.name = name
        self.routes: list[Route] = []

    def message(self, *filters: Filter) -> Callable[[Handler], Handler]:
        """Register a handler for messages passing every filter."""
        return self.on(event(Message), *filters)

    def on(self, *filters: Filter) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(f"{self.name}.{handler.__name__}", tuple(filters), handler))
            return handler

        return register


def first_match(routers: Iterable[Router], ctx: MessageContext) -> Route | None:
    # Plain loops: this runs for every message across every route, and a generator per route
    # was most of its cost.
    for router in routers:
        for route in router.routes:
            for condition in route.filters:
                if not condition(ctx):
                    break
            else:
                return route
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

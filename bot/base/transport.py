"""The one interface every transport implements, and the neutral events they deliver.

Handlers and the outbox sender only see these types; the wechaty adapter is the only module
that imports wechaty, the simulator the only one that knows the simulated world.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    """A text or image someone sent: privately (``room`` is None) or in a room."""

    id: str
    sender: str  # contact id
    sender_name: str
    text: str
    at: datetime
    room: str | None = None
    kind: str = "text"  # text | image
    mentions: tuple[str, ...] = ()
    mentions_self: bool = False

    @property
    def private(self) -> bool:
        return self.room is None


@dataclass(frozen=True)
class FriendRequest:
    id: str
    contact: str
    name: str
    hello: str
    at: datetime


@dataclass(frozen=True)
class RoomJoin:
    """Someone joined a room. ``named`` is who the event names — WeChat may name only one of
    several people joining at once, so membership is read from the member list."""

    room: str
    named: tuple[str, ...]
    at: datetime
    inviter: str | None = None


@dataclass(frozen=True)
class RoomLeave:
    room: str
    named: tuple[str, ...]
    at: datetime


@dataclass(frozen=True)
class RoomInvitation:
    """The helper account was invited into a room (e.g. a distributor's own group)."""

    id: str
    room: str
    topic: str
    inviter: str
    at: datetime
    member_count: int = 0


Event = Message | FriendRequest | RoomJoin | RoomLeave | RoomInvitation
EventSink = Callable[[Event], Awaitable[None]]


def conversation_of(event: Event) -> str:
    """The conversation an event belongs to (a room, or one person's private chat): transports
    deliver the events of one conversation one after the other, in order."""
    if isinstance(event, Message):
        return f"room:{event.room}" if event.room else f"dm:{event.sender}"
    if isinstance(event, FriendRequest):
        return f"dm:{event.contact}"
    if isinstance(event, RoomInvitation) and not event.room:  # a puppet service's names no room
        return f"dm:{event.inviter}"
    return f"room:{event.room}"


class TransportError(Exception):
    """Sending failed. ``retryable`` errors are tried again with backoff."""

    retryable = True


class NeedInvite(TransportError):
    """A direct add was refused: the room has more than 40 members, send an invitation."""

    retryable = False


class RoomFull(TransportError):
    """The room holds 500 members already."""

    retryable = False


class Refused(TransportError):
    """WeChat would not allow it, and trying again will not change that: not friends, not in
    the room, already a member, a request that is no longer there, …"""

    retryable = False


class UnknownTarget(TransportError):
    """No such contact or room."""

    retryable = False


class NotConnected(TransportError):
    """Nothing was sent: the transport is not connected to WeChat (or not logged in) right now.
    Not a failed attempt — the outbox puts the message back untouched and waits for ``ready()``."""


class Uncertain(TransportError):
    """The send was handed over but no answer came back in time: it may or may not have gone
    out. Sending again could say the same thing twice (the same earnings DM), so the outbox
    keeps it as ``uncertain`` for ops to retry or drop by hand."""

    retryable = False


@dataclass
class TransportStatus:
    """What the transport says of itself (``/healthz``, the console, the start-up lines).
    ``connected``: the link to WeChat (or the puppet service) is up; ``logged_in``: the helper
    account is logged in on it; ``since``: when the current state of the two began (None:
    not known)."""

    name: str
    account: str
    logged_in: bool
    detail: dict[str, Any] = field(default_factory=dict)
    connected: bool = True
    since: datetime | None = None


class Transport(Protocol):
    """What the bot needs from WeChat (or the simulator).

    ``ref`` on sends is the outbox row id: transports may use it to recognise a resend (the
    simulator records it).

    ``account`` is the logical helper account this process sends as (outbox rows name it);
    ``self_id`` is the helper's own contact id as WeChat shows it — in member lists, joins,
    mentions and echoed messages. They differ on WeChat (``helper`` vs ``wxid_…``): compare
    contact ids with ``self_id``, never with ``account``."""

    name: str
    account: str
    self_id: str  # "" until logged in

    def can_send(self) -> bool:
        """Whether a send may be tried now (connected and logged in)."""

    async def ready(self) -> None:
        """Return once ``can_send()`` holds (at once for a transport that is always ready)."""

    async def start(self, sink: EventSink) -> None:
        """Connect and deliver every incoming event to ``sink``; return once running."""

    async def stop(self) -> None: ...

    async def send_text(
        self, target: str, text: str, *, room: bool, mentions: Sequence[str] = (), ref: str | None = None
    ) -> str:
        """Send; return the message id."""

    async def send_image(self, target: str, image: bytes, *, room: bool, name: str, ref: str | None = None) -> str: ...

    async def add_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        """Add directly (rooms up to 40 members); raises NeedInvite above that."""

    async def invite_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None: ...

    async def room_members(self, room: str) -> list[str]:
        """The room's current member list, fresh (not a cache)."""

    async def accept_friend(self, request_id: str) -> None: ...

    async def accept_room_invitation(self, invitation_id: str) -> None: ...

    async def create_room(self, topic: str, members: Sequence[str]) -> str | None:
        """Create a room; None where the transport cannot."""

    def status(self) -> TransportStatus: ...

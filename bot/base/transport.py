"""The one interface every transport implements, the neutral events they deliver, the errors
they raise and the capabilities they declare.

Handlers, services and the outbox sender see only these types; each adapter module is the only
one that knows its backend (the wechaty adapter the only one importing wechaty, the simulator
the only one knowing the simulated world). The composition root picks the transport from the
registry (``bot.transports.registry``: kind → factory) and lets it contribute its web routes and
its pace (:meth:`Transport.web_routes`, :meth:`Transport.rate_limits`).

**Capabilities, not names.** What a backend can do differs: personal WeChat adds people
directly up to 40 members and invites above; WeCom's customer groups take nobody by an add
(people join by a code) and every group post waits for a staff member's confirmation, within a
monthly cap; a puppet service may lack room creation. Each transport says so in
``transport.capabilities`` (:class:`Capabilities`), and callers branch on those fields — never on
``transport.name``, never by probing for a method. A call whose capability is false refuses
with :class:`Unsupported` (a :class:`Refused`: never retried), never silently does nothing; the
one exception is the direct-add limit, whose refusal is :class:`NeedInvite` so that the outbox
sends an invitation instead. Capabilities may narrow while running when a service turns out
unable (a puppet answering "not implemented"): they never widen.

The same promises hold for every transport, and ``tests/contract/`` checks them against each
(the simulator, wechaty against a gRPC puppet service, the tests' fake).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from bot.base.config import OutboxSettings, RateLimits


@dataclass(frozen=True)
class Message:
    """A text or image someone sent: privately (``room`` is None) or in a room."""

    id: str
    sender: str  # contact id
    sender_name: str
    text: str
    at: datetime
    room: str | None = None
    kind: str = "text"  # text | image | card (a business card: a contact shared)
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


class Unsupported(Refused):
    """The transport cannot do this at all: its :class:`Capabilities` say so (no room creation,
    no image bytes, no invitation cards, …). Ask the capability before calling."""


class OutsideWindow(Refused):
    """A private message the transport's ``private_window`` does not allow now (no message from
    the person within the window, or its count used up): it can go once the person writes again."""


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


@dataclass(frozen=True)
class PostCap:
    """How many group posts one room (or one customer) takes per period — WeCom's cap on
    group-message tasks: by default as many a month as the month has days, or as the admin sets
    it, 7 a week or 1 a day. ``posts`` None (``per`` "month" only): the month's number of days.

    Example: ``PostCap("month").allowed(date(2026, 2, 10))`` is 28; ``PostCap("week", 7)`` is 7."""

    per: Literal["day", "week", "month"]
    posts: int | None = None

    def __post_init__(self) -> None:
        if self.posts is None and self.per != "month":
            raise ValueError("only a monthly cap may follow the month's length")
        if self.posts is not None and self.posts < 0:
            raise ValueError("a cap counts posts: 0 or more")

    def allowed(self, day: date) -> int:
        """The cap of the period ``day`` falls in."""
        if self.posts is not None:
            return self.posts
        following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return (following - day.replace(day=1)).days


@dataclass(frozen=True)
class PrivateWindow:
    """When the helper may write to a person privately: within ``hours`` of the person's last
    message, at most ``messages`` per message they send (WeCom's 微信客服: 48 h, 5)."""

    hours: int
    messages: int


@dataclass(frozen=True)
class Capabilities:
    """What a transport can do, declared by it; handlers, services and the sender branch on
    these. The defaults say "cannot": a transport declares what it can.

    - ``create_rooms``: ``create_room`` makes a new room with the helper and the people given.
    - ``send_images``: ``send_image`` posts a picture (otherwise texts only).
    - ``image_bytes``: ``image_bytes(message_id)`` returns the picture a person sent.
    - ``mentions``: ``send_text`` in a room @-mentions the members named.
    - ``remove_members``: ``remove_from_room`` takes a person out of a room the helper owns.
    - ``direct_add_limit``: ``add_to_room`` adds a person directly while the room has at most
      this many members; above, :class:`NeedInvite` (0: never — people join by invitation or code).
    - ``room_invitations``: ``invite_to_room`` sends a person an invitation card to accept.
    - ``accept_room_invitations``: the helper is invited into people's own rooms
      (:class:`RoomInvitation` events) and ``accept_room_invitation`` takes it in.
    - ``friend_requests``: people ask to befriend the helper (:class:`FriendRequest` events) and
      ``accept_friend`` accepts them (WeCom has none: contacts come through 联系我 codes).
    - ``join_codes``: people join rooms through a code or link the bot hands out (WeCom's join
      ways, ``join_code``) rather than by an add or an invitation.
    - ``contact_codes``: ``contact_code`` makes a code people scan to add the helper, whose adds
      carry the code's ``state`` (WeCom's 联系我 codes: a distributor's code as the state).
    - ``group_posts_need_confirmation``: a post to a room is only proposed; it goes out once a
      staff member confirms it in their client (WeCom's group-message tasks).
    - ``group_post_cap``: at most so many posts per room (and per customer) a period; None: no cap.
    - ``private_window``: when the helper may write privately; None: whenever it likes.
    - ``group_text_bytes`` / ``private_text_bytes``: the longest text a room post / a private
      message takes, in UTF-8 bytes (WeCom: 4000 for a group-message task, 2048 for 微信客服);
      None: no limit worth planning for. The transport cuts a room post and splits a private
      message that is longer (core.post_fit); a capped room's digest is fitted before.
    - ``rooms_per_post``: how many rooms one proposed text post (``post_to_rooms``) may cover,
      confirmed once by the staff member (WeCom: a task's ``chat_id_list`` takes 2000); 1: a
      post per room.
    """

    create_rooms: bool = False
    send_images: bool = False
    image_bytes: bool = False
    mentions: bool = False
    remove_members: bool = False
    direct_add_limit: int = 0
    room_invitations: bool = False
    accept_room_invitations: bool = False
    friend_requests: bool = False
    join_codes: bool = False
    contact_codes: bool = False
    group_posts_need_confirmation: bool = False
    group_post_cap: PostCap | None = None
    private_window: PrivateWindow | None = None
    group_text_bytes: int | None = None
    private_text_bytes: int | None = None
    rooms_per_post: int = 1


# Personal WeChat, as the helper account sees it (DESIGN.md, "WeChat facts"): direct adds up to
# 40 members and invitations above, the helper's own rooms, pictures both ways, no caps.
WECHAT = Capabilities(
    create_rooms=True,
    send_images=True,
    image_bytes=True,
    mentions=True,
    remove_members=True,
    direct_add_limit=40,
    room_invitations=True,
    accept_room_invitations=True,
    friend_requests=True,
)


class PostState(StrEnum):
    """Where a proposed group post is (``capabilities.group_posts_need_confirmation``): waiting
    for the staff member, delivered, refused because the room's cap for the period is used up,
    or failed otherwise (the room is gone, the task cancelled)."""

    PROPOSED = "proposed"
    SENT = "sent"
    CAPPED = "capped"
    FAILED = "failed"


@dataclass(frozen=True)
class JoinCode:
    """A code or link the transport made: ``url`` is what a person scans or opens,
    ``config_id`` names it at the transport (WeCom lists API-made codes nowhere: keep it)."""

    config_id: str
    url: str


class WebRoute(Protocol):
    """A route a transport serves in the process's web application: an aiohttp route
    definition (``web.get(...)``, ``web.post(...)``), described here by what the application
    calls on it, since this layer does not import aiohttp."""

    def register(self, router: Any) -> list[Any]: ...


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


class PersonalWeChat:
    """What a personal-WeChat transport (the simulator, wechaty) refuses of the interface: there
    people are added or invited and posts go out at once, so it has no join or contact codes
    and no proposed posts to follow. Mixed into those transports, so the refusals read once."""

    async def join_code(self, rooms: Sequence[str], *, name: str, state: str) -> JoinCode:
        raise Unsupported("personal WeChat has no join codes: people are added or invited")

    async def contact_code(self, state: str) -> JoinCode:
        raise Unsupported("personal WeChat has no contact codes: people send a friend request")

    async def post_states(self, task_id: str, rooms: Sequence[str]) -> Mapping[str, PostState]:
        raise Unsupported(NO_PROPOSED_POSTS)

    async def remind_post(self, task_id: str) -> None:
        raise Unsupported(NO_PROPOSED_POSTS)

    async def cancel_post(self, task_id: str) -> None:
        raise Unsupported(NO_PROPOSED_POSTS)

    async def post_to_rooms(
        self, rooms: Sequence[str], text: str, *, ref: str | None = None
    ) -> tuple[str, tuple[str, ...]]:
        raise Unsupported(NO_PROPOSED_POSTS)


NO_PROPOSED_POSTS = "posts go out at once here: there are no proposed posts to follow"


class Transport(Protocol):
    """What the bot needs from WeChat (or the simulator, or WeCom).

    ``name`` is the transport's kind (``sim``, ``wechaty``) for logs and ``/healthz`` — what it
    can do is in ``capabilities``, never read from its name.

    ``ref`` on sends is the outbox row id: transports may use it to recognise a resend (the
    simulator records it).

    ``account`` is the logical helper account this process sends as (outbox rows name it);
    ``self_id`` is the helper's own contact id as WeChat shows it — in member lists, joins,
    mentions and echoed messages. They differ on WeChat (``helper`` vs ``wxid_…``): compare
    contact ids with ``self_id``, never with ``account``.

    Every call that acts raises a :class:`TransportError`: :class:`NotConnected` while it cannot
    send (nothing was sent), :class:`Unsupported` where ``capabilities`` says it cannot,
    :class:`UnknownTarget`, :class:`Refused`, :class:`NeedInvite`, :class:`RoomFull` for what
    WeChat refuses, :class:`Uncertain` when the outcome is unknown. A resend of something that
    went through (the same add, the same acceptance) does nothing and succeeds."""

    name: str
    account: str
    self_id: str  # "" until logged in
    capabilities: Capabilities

    def can_send(self) -> bool:
        """Whether a send may be tried now (connected and logged in)."""

    async def ready(self) -> None:
        """Return once ``can_send()`` holds (at once for a transport that is always ready)."""

    async def start(self, sink: EventSink) -> None:
        """Connect and deliver every incoming event to ``sink``; return once running."""

    async def stop(self) -> None:
        """Deliver nothing more and disconnect; stopping again does nothing."""

    async def send_text(
        self, target: str, text: str, *, room: bool, mentions: Sequence[str] = (), ref: str | None = None
    ) -> str:
        """Send; return the message id. ``mentions`` need ``capabilities.mentions``."""

    async def send_image(self, target: str, image: bytes, *, room: bool, name: str, ref: str | None = None) -> str:
        """Send a picture (``capabilities.send_images``); return the message id."""

    async def image_bytes(self, message_id: str) -> bytes:
        """The picture a person sent in message ``message_id`` (``capabilities.image_bytes``);
        :class:`UnknownTarget` when it is not (or no longer) to be had."""

    async def add_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        """Add directly while the room has at most ``capabilities.direct_add_limit`` members;
        :class:`NeedInvite` above that."""

    async def invite_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        """Send ``contact`` an invitation card to the room (``capabilities.room_invitations``)."""

    async def remove_from_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        """Take ``contact`` out of a room the helper owns (``capabilities.remove_members``)."""

    async def room_members(self, room: str) -> list[str]:
        """The room's current member list, fresh (not a cache)."""

    async def accept_friend(self, request_id: str) -> None:
        """Accept a friend request (``capabilities.friend_requests``)."""

    async def accept_room_invitation(self, invitation_id: str) -> None:
        """Join the room the helper was invited into (``capabilities.accept_room_invitations``)."""

    async def create_room(self, topic: str, members: Sequence[str]) -> str | None:
        """Create a room with the helper and ``members``; return its id (``capabilities.create_rooms``).
        None where the service turned out unable (the capability is withdrawn at the same time)."""

    async def join_code(self, rooms: Sequence[str], *, name: str, state: str) -> JoinCode:
        """A code people scan to join the first of ``rooms`` (at most 5) with room; when all are
        full the transport opens the next one, named ``name`` and a number
        (``capabilities.join_codes``). ``state`` (≤30 characters) comes back with the joins."""

    async def contact_code(self, state: str) -> JoinCode:
        """A code people scan to add the helper; their adds carry ``state`` (≤30 characters)
        back as the :class:`FriendRequest`'s greeting (``capabilities.contact_codes``)."""

    async def post_states(self, task_id: str, rooms: Sequence[str]) -> Mapping[str, PostState]:
        """Where the post ``send_text``/``send_image``/``post_to_rooms`` proposed as ``task_id``
        is in each of ``rooms`` (``capabilities.group_posts_need_confirmation``): one look at
        the task, however many rooms it covers."""

    async def remind_post(self, task_id: str) -> None:
        """Remind the staff member to confirm ``task_id`` (WeCom: 3 reminders a task in 24 h)."""

    async def cancel_post(self, task_id: str) -> None:
        """Withdraw ``task_id``: nobody can confirm it any more."""

    async def post_to_rooms(
        self, rooms: Sequence[str], text: str, *, ref: str | None = None
    ) -> tuple[str, tuple[str, ...]]:
        """Propose one text to all of ``rooms`` as one task the staff member confirms once
        (``capabilities.rooms_per_post``, at most that many rooms); each room's cap counts it
        as one post. Returns the task id and the rooms refused at once (not the helper's);
        :class:`UnknownTarget` when every room is. ``post_states(task_id, rooms)`` follows it
        room by room."""

    def status(self) -> TransportStatus: ...

    def rate_limits(self, outbox: OutboxSettings) -> RateLimits:
        """The pace the outbox sends at through this transport, from the configured ones
        (``outbox.limits``; the simulator, in-process, takes the faster ``outbox.sim_limits``)."""

    def web_routes(self) -> Sequence[WebRoute]:
        """The routes this transport serves in the process's web application (the simulator's
        ``/sim`` page and API); none for most."""

    def banner(self, base_url: str) -> str:
        """One line for the start-up banner: where to look, or what state it is in."""

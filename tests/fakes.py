"""An in-memory transport for tests: records what the bot sends, fails on demand, and can be
disconnected (``connected.clear()``) to see what waits for it.

It keeps the interface's promises as the real transports do (``tests/contract/`` runs the same
suite against it): what its ``capabilities`` leave out is refused with ``Unsupported``, a direct
add above ``direct_add_limit`` members is ``NeedInvite``. By default it can do what the tests
have always had from it — personal WeChat, less room creation and reading received images;
pass ``capabilities`` (e.g. ``replace(WECHAT, …)``) for another backend."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bot.base.config import OutboxSettings, RateLimits
from bot.base.transport import (
    WECHAT,
    Capabilities,
    Event,
    EventSink,
    JoinCode,
    NeedInvite,
    NotConnected,
    PostState,
    TransportError,
    TransportStatus,
    UnknownTarget,
    Unsupported,
    WebRoute,
)

FAKE = replace(WECHAT, create_rooms=False, image_bytes=False)


@dataclass
class Sent:
    kind: str
    target: str
    text: str = ""
    room: bool = False
    mentions: tuple[str, ...] = ()
    ref: str | None = None


@dataclass
class FakeTransport:
    name: str = "fake"
    account: str = "helper"
    self_id: str = "helper"
    capabilities: Capabilities = FAKE
    sent: list[Sent] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)
    images: dict[str, bytes] = field(default_factory=dict)  # message id → the picture a person sent
    fail_next: list[TransportError] = field(default_factory=list)
    sink: EventSink | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    tried: int = 0  # sends tried, connected or not
    since: datetime | None = None
    states_of_posts: dict[str, PostState] = field(default_factory=dict)  # proposed posts' states by task id
    looked_up: list[str] = field(default_factory=list)  # task ids whose state was asked, one entry a look

    def __post_init__(self) -> None:
        self.connected.set()

    async def start(self, sink: EventSink) -> None:
        self.sink, self.since = sink, datetime.now(UTC)

    async def stop(self) -> None:
        self.sink = None

    async def receive(self, event: Event) -> None:
        """Someone does something the bot hears of (nothing is heard while stopped)."""
        if self.sink is not None:
            await self.sink(event)

    def can_send(self) -> bool:
        return self.connected.is_set()

    async def ready(self) -> None:
        await self.connected.wait()

    def _maybe_fail(self, declared: bool = True, what: str = "") -> None:
        if not declared:
            raise Unsupported(f"the fake transport cannot {what}")
        self.tried += 1
        if not self.connected.is_set():
            raise NotConnected("not connected")
        if self.fail_next:
            raise self.fail_next.pop(0)

    async def send_text(
        self, target: str, text: str, *, room: bool, mentions: Sequence[str] = (), ref: str | None = None
    ) -> str:
        self._maybe_fail(self.capabilities.mentions or not mentions, "mention members")
        self.sent.append(Sent("text", target, text, room, tuple(mentions), ref))
        return f"m{len(self.sent)}"

    async def send_image(self, target: str, image: bytes, *, room: bool, name: str, ref: str | None = None) -> str:
        self._maybe_fail(self.capabilities.send_images, "send images")
        self.sent.append(Sent("image", target, name, room, (), ref))
        return f"m{len(self.sent)}"

    async def image_bytes(self, message_id: str) -> bytes:
        self._maybe_fail(self.capabilities.image_bytes, "read received images")
        if message_id not in self.images:
            raise UnknownTarget(f"no image in message {message_id!r}")
        return self.images[message_id]

    async def add_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        self._maybe_fail()
        members = self.members.setdefault(room, [])
        if contact in members:
            return  # a resend of an add that went through
        if len(members) > self.capabilities.direct_add_limit:
            raise NeedInvite(room)
        members.append(contact)
        self.sent.append(Sent("room_add", contact, room, True, (), ref))

    async def invite_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        self._maybe_fail(self.capabilities.room_invitations, "send invitations")
        self.sent.append(Sent("room_invite", contact, room, True, (), ref))

    async def remove_from_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        self._maybe_fail(self.capabilities.remove_members, "remove members")
        if contact in self.members.get(room, []):
            self.members[room].remove(contact)
            self.sent.append(Sent("room_remove", contact, room, True, (), ref))

    async def room_members(self, room: str) -> list[str]:
        return list(self.members.get(room, []))

    async def accept_friend(self, request_id: str) -> None:
        self._maybe_fail(self.capabilities.friend_requests, "accept friends")
        self.sent.append(Sent("friend_accept", request_id))

    async def accept_room_invitation(self, invitation_id: str) -> None:
        self._maybe_fail(self.capabilities.accept_room_invitations, "accept room invitations")
        self.sent.append(Sent("room_invitation_accept", invitation_id))

    async def create_room(self, topic: str, members: Sequence[str]) -> str | None:
        self._maybe_fail(self.capabilities.create_rooms, "create rooms")
        room = f"room-fake-{len(self.members) + 1}"
        self.members[room] = [self.self_id, *members]
        self.sent.append(Sent("room_create", room, topic, True))
        return room

    async def join_code(self, rooms: Sequence[str], *, name: str, state: str) -> JoinCode:
        self._maybe_fail(self.capabilities.join_codes, "make join codes")
        code = JoinCode(f"jw-fake-{len(self.sent) + 1}", f"https://join.example/{state or name}")
        self.sent.append(Sent("join_code", ",".join(rooms), code.url, True))
        return code

    async def contact_code(self, state: str) -> JoinCode:
        self._maybe_fail(self.capabilities.contact_codes, "make contact codes")
        code = JoinCode(f"cw-fake-{len(self.sent) + 1}", f"https://contact.example/{state}")
        self.sent.append(Sent("contact_code", state, code.url, False))
        return code

    async def post_states(self, task_id: str, rooms: Sequence[str]) -> Mapping[str, PostState]:
        self._maybe_fail(self.capabilities.group_posts_need_confirmation, "follow proposed posts")
        self.looked_up.append(task_id)
        return dict.fromkeys(rooms, self.states_of_posts.get(task_id, PostState.PROPOSED))

    async def remind_post(self, task_id: str) -> None:
        self._maybe_fail(self.capabilities.group_posts_need_confirmation, "follow proposed posts")
        self.sent.append(Sent("post_remind", task_id))

    async def cancel_post(self, task_id: str) -> None:
        self._maybe_fail(self.capabilities.group_posts_need_confirmation, "follow proposed posts")
        self.sent.append(Sent("post_cancel", task_id))

    def status(self) -> TransportStatus:
        up = self.connected.is_set()
        return TransportStatus(self.name, self.account, up, connected=up, since=self.since)

    def rate_limits(self, outbox: OutboxSettings) -> RateLimits:
        return outbox.limits

    def web_routes(self) -> list[WebRoute]:
        return []

    def banner(self, base_url: str) -> str:
        return f"{self.name}: sending as {self.account}"

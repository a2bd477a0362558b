"""An in-memory transport for tests: records what the bot sends, fails on demand, and can be
disconnected (``connected.clear()``) to see what waits for it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.base.transport import EventSink, NeedInvite, NotConnected, TransportError, TransportStatus


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
    sent: list[Sent] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)
    fail_next: list[TransportError] = field(default_factory=list)
    sink: EventSink | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    tried: int = 0  # sends tried, connected or not

    def __post_init__(self) -> None:
        self.connected.set()

    async def start(self, sink: EventSink) -> None:
        self.sink = sink

    async def stop(self) -> None:
        self.sink = None

    def can_send(self) -> bool:
        return self.connected.is_set()

    async def ready(self) -> None:
        await self.connected.wait()

    def _maybe_fail(self) -> None:
        self.tried += 1
        if not self.connected.is_set():
            raise NotConnected("not connected")
        if self.fail_next:
            raise self.fail_next.pop(0)

    async def send_text(
        self, target: str, text: str, *, room: bool, mentions: Sequence[str] = (), ref: str | None = None
    ) -> str:
        self._maybe_fail()
        self.sent.append(Sent("text", target, text, room, tuple(mentions), ref))
        return f"m{len(self.sent)}"

    async def send_image(self, target: str, image: bytes, *, room: bool, name: str, ref: str | None = None) -> str:
        self._maybe_fail()
        self.sent.append(Sent("image", target, name, room, (), ref))
        return f"m{len(self.sent)}"

    async def add_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        self._maybe_fail()
        if len(self.members.get(room, [])) > 40:
            raise NeedInvite(room)
        self.members.setdefault(room, []).append(contact)
        self.sent.append(Sent("room_add", contact, room, True, (), ref))

    async def invite_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        self._maybe_fail()
        self.sent.append(Sent("room_invite", contact, room, True, (), ref))

    async def room_members(self, room: str) -> list[str]:
        return list(self.members.get(room, []))

    async def accept_friend(self, request_id: str) -> None:
        self._maybe_fail()
        self.sent.append(Sent("friend_accept", request_id))

    async def accept_room_invitation(self, invitation_id: str) -> None:
        self._maybe_fail()
        self.sent.append(Sent("room_invitation_accept", invitation_id))

    async def create_room(self, topic: str, members: Sequence[str]) -> str | None:
        return None

    def status(self) -> TransportStatus:
        up = self.connected.is_set()
        return TransportStatus(self.name, self.account, up, connected=up)

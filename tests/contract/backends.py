"""One harness per transport for the contract suite: the transport, a sink collecting what it
delivers, and the far side of it — the simulated world, the gRPC puppet service, the fake's own
records — to make people act and to see what arrived.

Every backend starts with the same small world: the helper; 王妈妈 (``c1``), 李爸爸 (``c2``)
and 张老师 (``c3``), the helper's friends; and the room ``room-xh`` (小熊数学推广群), owned by
the helper, with 王妈妈 in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from bot.base.transport import (
    WECHAT,
    Capabilities,
    FriendRequest,
    Message,
    RoomInvitation,
    RoomJoin,
    Transport,
)
from bot.transports.sim import SimTransport, SimWorld
from bot.transports.wechaty_adapter import WechatyTransport
from tests.fakes import FakeTransport, Sent
from tests.wechaty.puppet_server import HELPER_WXID, FakePuppetService, pb
from tests.wechaty.support import ROOM, Sink, transport_for

PEOPLE = {"c1": "王妈妈", "c2": "李爸爸", "c3": "张老师"}
TOPIC = "小熊数学推广群"


@dataclass(frozen=True)
class Arrived:
    """A text as the person or room received it."""

    text: str
    mentions: tuple[str, ...] = ()


class Backend(Protocol):
    transport: Transport
    sink: Sink
    can_disconnect: bool

    async def start(self) -> None: ...

    async def person_says(
        self, sender: str, text: str, *, room: str | None = None, mention_helper: bool = False
    ) -> None:
        """``sender`` writes to the helper (or in ``room``, @-mentioning it or not)."""

    async def person_sends_image(self, sender: str, data: bytes) -> str:
        """``sender`` sends the helper a picture; returns the message id."""

    def texts_to(self, target: str, *, room: bool) -> list[Arrived]: ...

    def images_to(self, target: str, *, room: bool) -> int: ...

    def make_room(self, room: str, members: Sequence[str]) -> None:
        """A room the helper owns, with the helper and ``members`` (made contacts if need be)."""

    def in_room(self, room: str, contact: str) -> bool: ...

    async def people_join(self, room: str, contacts: Sequence[str], *, named: Sequence[str]) -> None:
        """A member pulls ``contacts`` in; the join event names only ``named``."""

    def invited(self, room: str, contact: str) -> bool:
        """Whether ``contact`` got an invitation to ``room`` from the helper."""

    async def friend_request(self, contact: str, name: str, hello: str) -> str:
        """A stranger asks to befriend the helper; returns the request's id."""

    def befriended(self, contact: str) -> bool: ...

    async def invite_helper(self, inviter: str, topic: str) -> tuple[str, str]:
        """``inviter`` invites the helper into their own room; returns (invitation id, room)."""

    def helper_in(self, room: str) -> bool: ...

    async def disconnect(self) -> None: ...

    async def reconnect(self) -> None: ...

    async def close(self) -> None: ...


class SimBackend:
    can_disconnect = False  # the world is in process: there is no link to lose

    def __init__(self, tmp_path: Path) -> None:
        self.world = world = SimWorld("helper", tmp_path / "world.jsonl")
        for contact, name in PEOPLE.items():
            world.add_contact(contact, name)
            world.befriend(contact)
        world.ensure_room(ROOM, TOPIC, [world.helper, "c1"])
        self.transport: SimTransport = SimTransport(world)
        self.sink = Sink()

    async def start(self) -> None:
        await self.transport.start(self.sink)

    async def person_says(
        self, sender: str, text: str, *, room: str | None = None, mention_helper: bool = False
    ) -> None:
        mentions = [self.world.helper] if mention_helper else []
        self.transport.deliver(self.world.message_event(self.world.say(sender, text, room=room, mentions=mentions)))

    async def person_sends_image(self, sender: str, data: bytes) -> str:
        stored = self.world.say(sender, "[图片]", kind="image", image=data)
        self.transport.deliver(self.world.message_event(stored))
        return str(stored["id"])

    def _from_helper(self, target: str, room: bool) -> list[dict]:
        messages = self.world.room(target).messages if room else self.world.conversation(target)
        return [m for m in messages if m["from"] == self.world.helper]

    def texts_to(self, target: str, *, room: bool) -> list[Arrived]:
        sent = self._from_helper(target, room)
        return [Arrived(m["text"], tuple(m["mentions"])) for m in sent if m["kind"] == "text"]

    def images_to(self, target: str, *, room: bool) -> int:
        return sum(m["kind"] == "image" for m in self._from_helper(target, room))

    def make_room(self, room: str, members: Sequence[str]) -> None:
        for contact in members:
            self.world.add_contact(contact, PEOPLE.get(contact, contact))
        self.world.ensure_room(room, room, [self.world.helper, *members])

    def in_room(self, room: str, contact: str) -> bool:
        return contact in self.world.room(room).members

    async def people_join(self, room: str, contacts: Sequence[str], *, named: Sequence[str]) -> None:
        event = self.world.join(room, [*named, *(c for c in contacts if c not in named)], inviter="c1")
        self.transport.deliver(event)  # the world's join names the first of them only, as WeChat may

    def invited(self, room: str, contact: str) -> bool:
        return any(card.room == room and card.contact == contact for card in self.world.invitations.values())

    async def friend_request(self, contact: str, name: str, hello: str) -> str:
        request = self.world.request_friend(contact, name, hello)
        self.transport.deliver(request)
        return request.id

    def befriended(self, contact: str) -> bool:
        return contact in self.world.friends

    async def invite_helper(self, inviter: str, topic: str) -> tuple[str, str]:
        room = self.world.create_room(topic, ["c2"], owner=inviter)
        card = self.world.invite(room, self.world.helper, inviter=inviter)
        assert card is not None
        self.transport.deliver(self.world.invitation_event(card))
        return card.id, room

    def helper_in(self, room: str) -> bool:
        return self.world.helper in self.world.room(room).members

    async def disconnect(self) -> None:
        raise NotImplementedError("the simulator cannot be disconnected")

    async def reconnect(self) -> None:
        raise NotImplementedError("the simulator cannot be disconnected")

    async def close(self) -> None:
        await self.transport.stop()


class WechatyBackend:
    can_disconnect = True  # the puppet service goes away and comes back on its port

    def __init__(self) -> None:
        self.server = FakePuppetService()
        for contact, name in PEOPLE.items():
            self.server.add_contact(contact, name)
        self.server.add_room(ROOM, TOPIC, ["c1"])
        self.sink = Sink()
        self.transport: WechatyTransport | None = None

    async def start(self) -> None:
        await self.server.start()
        self.transport = transport_for(self.server)
        await self.transport.start(self.sink)
        assert await self.transport.wait_logged_in(timeout=5)

    async def person_says(
        self, sender: str, text: str, *, room: str | None = None, mention_helper: bool = False
    ) -> None:
        if room is None:
            self.server.dm(sender, text)
        else:
            self.server.room_message(room, sender, text, mentions=[HELPER_WXID] if mention_helper else [])

    async def person_sends_image(self, sender: str, data: bytes) -> str:
        return self.server.image(sender, data)

    def texts_to(self, target: str, *, room: bool) -> list[Arrived]:
        return [
            Arrived(r.text, tuple(r.mentonal_ids))  # the proto spells it so
            for r in self.server.requests("MessageSendText")
            if r.conversation_id == target
        ]

    def images_to(self, target: str, *, room: bool) -> int:
        return sum(r.conversation_id == target for r in self.server.requests("MessageSendFile"))

    def make_room(self, room: str, members: Sequence[str]) -> None:
        for contact in members:
            if contact not in self.server.contacts:
                self.server.add_contact(contact, PEOPLE.get(contact, contact))
        self.server.add_room(room, room, list(members))

    def in_room(self, room: str, contact: str) -> bool:
        return contact in self.server.rooms[room].member_ids

    async def people_join(self, room: str, contacts: Sequence[str], *, named: Sequence[str]) -> None:
        self.server.join(room, contacts, inviter="c1", named=named)

    def invited(self, room: str, contact: str) -> bool:
        # python-wechaty has no invitation call: RoomAdd, which WeChat turns into a card above 40.
        return any((r.id, r.contact_id) == (room, contact) for r in self.server.requests("RoomAdd"))

    async def friend_request(self, contact: str, name: str, hello: str) -> str:
        self.server.add_contact(contact, name, friend=False)
        return self.server.friend_request(contact, hello)

    def befriended(self, contact: str) -> bool:
        return self.server.contacts[contact].friend

    async def invite_helper(self, inviter: str, topic: str) -> tuple[str, str]:
        room = self.server.next_id("room")
        members = [inviter, "c2"]
        self.server.rooms[room] = pb.RoomPayloadResponse(id=room, topic=topic, owner_id=inviter, member_ids=members)
        return self.server.room_invitation(inviter, topic, [inviter, "c2"], room=room), room

    def helper_in(self, room: str) -> bool:
        return HELPER_WXID in self.server.rooms[room].member_ids

    async def disconnect(self) -> None:
        await self.server.stop()

    async def reconnect(self) -> None:
        await self.server.start(port=self.server.port)
        assert self.transport is not None and await self.transport.wait_logged_in(timeout=5)

    async def close(self) -> None:
        if self.transport is not None:
            await self.transport.stop()
        await self.server.stop()


class FakeBackend:
    can_disconnect = True  # connected.clear()

    def __init__(self, capabilities: Capabilities) -> None:
        self.transport = FakeTransport(capabilities=capabilities, members={ROOM: ["helper", "c1"]})
        self.sink = Sink()
        self.requests: dict[str, str] = {}  # friend request id → who asked
        self.invitations: dict[str, str] = {}  # invitation id → the room it is for
        self._ids = 0

    def _next(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}-{self._ids}"

    async def start(self) -> None:
        await self.transport.start(self.sink)

    async def person_says(
        self, sender: str, text: str, *, room: str | None = None, mention_helper: bool = False
    ) -> None:
        mentions = (self.transport.self_id,) if mention_helper else ()
        message = Message(self._next("m"), sender, PEOPLE[sender], text, _now(), room, "text", mentions, bool(mentions))
        await self.transport.receive(message)

    async def person_sends_image(self, sender: str, data: bytes) -> str:
        message_id = self._next("m")
        self.transport.images[message_id] = data
        await self.transport.receive(Message(message_id, sender, PEOPLE[sender], "[图片]", _now(), kind="image"))
        return message_id

    def _sent(self, kind: str, target: str) -> list[Sent]:
        return [s for s in self.transport.sent if s.kind == kind and s.target == target]

    def texts_to(self, target: str, *, room: bool) -> list[Arrived]:
        return [Arrived(s.text, s.mentions) for s in self._sent("text", target) if s.room == room]

    def images_to(self, target: str, *, room: bool) -> int:
        return sum(s.room == room for s in self._sent("image", target))

    def make_room(self, room: str, members: Sequence[str]) -> None:
        self.transport.members[room] = [self.transport.self_id, *members]

    def in_room(self, room: str, contact: str) -> bool:
        return contact in self.transport.members.get(room, [])

    async def people_join(self, room: str, contacts: Sequence[str], *, named: Sequence[str]) -> None:
        self.transport.members[room].extend(contacts)
        await self.transport.receive(RoomJoin(room, tuple(named), _now(), inviter="c1"))

    def invited(self, room: str, contact: str) -> bool:
        return any(s.text == room for s in self._sent("room_invite", contact))

    async def friend_request(self, contact: str, name: str, hello: str) -> str:
        request = FriendRequest(self._next("fr"), contact, name, hello, _now())
        self.requests[request.id] = contact
        await self.transport.receive(request)
        return request.id

    def befriended(self, contact: str) -> bool:
        return any(self.requests.get(s.target) == contact for s in self.transport.sent if s.kind == "friend_accept")

    async def invite_helper(self, inviter: str, topic: str) -> tuple[str, str]:
        invitation, room = self._next("inv"), self._next("room")
        self.invitations[invitation] = room
        self.transport.members[room] = [inviter, "c2"]
        await self.transport.receive(RoomInvitation(invitation, room, topic, inviter, _now(), member_count=2))
        return invitation, room

    def helper_in(self, room: str) -> bool:
        accepted = [s.target for s in self.transport.sent if s.kind == "room_invitation_accept"]
        return any(self.invitations.get(i) == room for i in accepted)

    async def disconnect(self) -> None:
        self.transport.connected.clear()

    async def reconnect(self) -> None:
        self.transport.connected.set()

    async def close(self) -> None:
        await self.transport.stop()


def _now() -> datetime:
    return datetime.now(UTC)


def _wecom(tmp_path: Path) -> Backend:
    from tests.contract.wecom_backend import WeComBackend  # it builds on this module's world

    return WeComBackend(tmp_path)


BACKENDS = {
    "sim": lambda tmp_path: SimBackend(tmp_path),
    "wechaty": lambda tmp_path: WechatyBackend(),
    "fake": lambda tmp_path: FakeBackend(WECHAT),
    "fake-bare": lambda tmp_path: FakeBackend(Capabilities()),  # declares nothing: every optional call refuses
    "wecom": _wecom,  # the fake WeCom server on the far side
}

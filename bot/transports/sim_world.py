"""The simulated WeChat world: contacts, rooms, the helper account, friendships and
invitations, with the WeChat rules that shape the bot (40 members for a direct add, 500 a
room, only friends exchange private messages, a join of several people names one).

Every change is a record: written to the journal first, then applied, so replaying the
journal at start rebuilds exactly the world that was (see :mod:`bot.transports.sim_journal`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import MAX_ROOM_MEMBERS, Settings
from bot.transport import (
    FriendRequest,
    Message,
    NeedInvite,
    RoomFull,
    RoomInvitation,
    RoomJoin,
    RoomLeave,
    TransportError,
    UnknownTarget,
)
from bot.transports.sim_journal import DEFAULT_JOURNAL, Journal, Record

DIRECT_ADD_LIMIT = 40  # up to this many members the helper adds people directly
KINDS = ("text", "image")


class Refused(TransportError):
    """WeChat would not allow it: not friends, not in the room, already a member, …"""

    retryable = False


@dataclass
class Room:
    id: str
    topic: str
    owner: str
    members: list[str]
    messages: list[Record] = field(default_factory=list)


@dataclass
class Invitation:
    id: str
    room: str
    contact: str  # who is invited (the helper, for an invitation into someone's group)
    inviter: str
    at: str
    seq: int
    state: str = "pending"  # pending | accepted


@dataclass
class PendingFriend:
    id: str
    contact: str
    name: str
    hello: str
    at: str
    state: str = "pending"  # pending | accepted


def _now() -> datetime:
    return datetime.now(UTC)


class SimWorld:
    """The world as the helper account sees it. Methods that change it raise the transport
    errors (:class:`UnknownTarget`, :class:`NeedInvite`, :class:`RoomFull`, :class:`Refused`)
    and return the event the bot should receive, if any."""

    def __init__(
        self,
        helper: str = "helper",
        journal: str | Path = DEFAULT_JOURNAL,
        *,
        helper_name: str = "小助手",
        clock: Callable[[], datetime] = _now,
    ):
        self.helper = helper
        self.contacts: dict[str, str] = {}  # id → name
        self.friends: set[str] = set()  # the helper's friends
        self.rooms: dict[str, Room] = {}
        self.dms: dict[str, list[Record]] = {}  # contact → the conversation with the helper
        self.invitations: dict[str, Invitation] = {}
        self.friend_requests: dict[str, PendingFriend] = {}
        self._refs: list[str] = []
        self._seq = 0
        self._ids: dict[str, int] = {}
        self._clock = clock
        self._journal = Journal(journal)
        for record in self._journal.read():
            self._apply(record)
        if helper not in self.contacts:
            self.add_contact(helper, helper_name)

    @classmethod
    def from_settings(
        cls, settings: Settings, journal: str | Path = DEFAULT_JOURNAL, *, clock: Callable[[], datetime] = _now
    ) -> SimWorld:
        """The configured world: a room per brand group (the helper and the brand's managers)
        and the material group (the helper, demo distributors, ops); demo distributors,
        managers and ops are the helper's friends. What the journal holds already is kept."""
        raw = settings.raw
        world = cls(raw.platform.helper_account, journal, helper_name=f"{raw.platform.name}小助手", clock=clock)
        people: dict[str, str] = {}
        for person in raw.demo.distributors:
            if person.contact_id:
                people.setdefault(person.contact_id, person.name)
        for brand in raw.brands:
            for manager in brand.managers:
                people.setdefault(manager, f"{brand.name}课程经理")
        for ops in raw.ops:
            people.setdefault(ops, "运营")
        for contact, name in people.items():
            world.add_contact(contact, name)
            world.befriend(contact)
        for brand in raw.brands:
            for group in brand.groups:
                world.ensure_room(group.room_id, group.name, [world.helper, *brand.managers])
        if raw.platform.material_group:
            distributors = [p.contact_id for p in raw.demo.distributors if p.contact_id]
            topic = f"{raw.platform.name}素材群"
            world.ensure_room(raw.platform.material_group, topic, [world.helper, *distributors, *raw.ops])
        return world

    def close(self) -> None:
        self._journal.close()

    @property
    def journal_path(self) -> Path:
        return self._journal.path

    # ----------------------------------------------------------------------------- reading

    def name(self, contact: str) -> str:
        return self.contacts.get(contact, contact)

    def room(self, room: str) -> Room:
        try:
            return self.rooms[room]
        except KeyError:
            raise UnknownTarget(f"no room {room!r}") from None

    def helper_room(self, room: str) -> Room:
        target = self.room(room)
        if self.helper not in target.members:
            raise UnknownTarget(f"the helper is not in room {room}")
        return target

    def members(self, room: str) -> list[str]:
        return list(self.room(room).members)

    def conversation(self, contact: str) -> list[Record]:
        """The private conversation between the helper and ``contact``, both ways, in order."""
        return list(self.dms.get(contact, []))

    def said_to(self, contact: str) -> list[Record]:
        """What the helper said to ``contact`` privately, in order."""
        return [m for m in self.dms.get(contact, []) if m["from"] == self.helper]

    def invitations_for(self, contact: str) -> list[Invitation]:
        return [i for i in self.invitations.values() if i.contact == contact]

    def rooms_of(self, contact: str) -> list[Room]:
        return [r for r in self.rooms.values() if contact in r.members]

    def received_refs(self) -> list[str]:
        """The ``ref`` of every helper action that arrived, in delivery order (repeats kept)."""
        return list(self._refs)

    # ----------------------------------------------------------------------------- changing

    def add_contact(self, contact: str, name: str) -> None:
        if contact not in self.contacts:
            self._commit({"op": "contact", "id": contact, "name": name})

    def befriend(self, contact: str) -> None:
        self._need_contact(contact)
        if contact not in self.friends and contact != self.helper:
            self._commit({"op": "friend", "contact": contact})

    def ensure_room(self, room: str, topic: str, members: Sequence[str]) -> None:
        if room not in self.rooms:
            unique = list(dict.fromkeys(members))
            self._commit({"op": "room", "id": room, "topic": topic, "owner": unique[0], "members": unique})

    def request_friend(self, contact: str, name: str, hello: str = "") -> FriendRequest:
        if contact == self.helper:
            raise Refused("the helper cannot befriend itself")
        if contact in self.friends:
            raise Refused(f"{contact} is already a friend of the helper")
        self.add_contact(contact, name or contact)
        request = self._next_id("fr")
        self._commit({"op": "friend_request", "id": request, "contact": contact, "name": name, "hello": hello})
        pending = self.friend_requests[request]
        return FriendRequest(request, contact, self.name(contact), hello, _at(pending.at))

    def accept_friend(self, request: str) -> None:
        pending = self.friend_requests.get(request)
        if pending is None:
            raise UnknownTarget(f"no friend request {request!r}")
        if pending.state == "pending":
            self._commit({"op": "friend_accept", "id": request})

    def create_room(self, topic: str, members: Sequence[str], *, owner: str | None = None) -> str:
        owner = owner or self.helper
        if not topic.strip():
            raise Refused("a room needs a topic")
        everyone = list(dict.fromkeys([owner, *members]))
        for contact in everyone:
            self._need_contact(contact)
        if len(everyone) > MAX_ROOM_MEMBERS:
            raise RoomFull(f"a room holds at most {MAX_ROOM_MEMBERS} members")
        room = self._next_id("room")
        self._commit({"op": "room", "id": room, "topic": topic, "owner": owner, "members": everyone})
        return room

    def join(
        self, room: str, contacts: Sequence[str], *, inviter: str | None = None, ref: str | None = None
    ) -> RoomJoin:
        """People join together (a QR code, someone pulling them in). The event names only the
        first of them, as WeChat may: the member list has them all."""
        target = self.room(room)
        people = list(dict.fromkeys(contacts))
        if not people:
            raise Refused("nobody to join")
        for contact in people:
            self._need_contact(contact)
            if contact in target.members:
                raise Refused(f"{contact} is already in room {room}")
        if len(target.members) + len(people) > MAX_ROOM_MEMBERS:
            raise RoomFull(f"room {room} holds {len(target.members)} of {MAX_ROOM_MEMBERS}: no room for {len(people)}")
        record = self._commit({"op": "join", "room": room, "contacts": people, "inviter": inviter, "ref": ref})
        return RoomJoin(room, (people[0],), _at(record["at"]), inviter)

    def add(self, room: str, contact: str, *, ref: str | None = None) -> RoomJoin | None:
        """The helper adds ``contact`` directly: only while the room has at most 40 members."""
        target = self.helper_room(room)
        self._need_contact(contact)
        if contact in target.members:
            self._arrived("add_to_room", room, contact, ref)
            return None
        if len(target.members) >= MAX_ROOM_MEMBERS:
            raise RoomFull(f"room {room} holds {MAX_ROOM_MEMBERS} members already")
        if len(target.members) > DIRECT_ADD_LIMIT:
            raise NeedInvite(f"room {room} has {len(target.members)} members (over {DIRECT_ADD_LIMIT}): invite")
        return self.join(room, [contact], inviter=self.helper, ref=ref)

    def invite(
        self, room: str, contact: str, *, inviter: str | None = None, ref: str | None = None
    ) -> Invitation | None:
        """An invitation card ``contact`` must accept; None when they are in the room already."""
        inviter = inviter or self.helper
        target = self.helper_room(room) if inviter == self.helper else self.room(room)
        if inviter not in target.members:
            raise Refused(f"{inviter} is not in room {room}")
        self._need_contact(contact)
        if contact in target.members:
            self._arrived("invite_to_room", room, contact, ref)
            return None
        if len(target.members) >= MAX_ROOM_MEMBERS:
            raise RoomFull(f"room {room} holds {MAX_ROOM_MEMBERS} members already")
        invitation = self._next_id("inv")
        self._commit(
            {"op": "invite", "id": invitation, "room": room, "contact": contact, "inviter": inviter, "ref": ref}
        )
        return self.invitations[invitation]

    def accept_invitation(self, invitation: str) -> RoomJoin | None:
        card = self.invitations.get(invitation)
        if card is None:
            raise UnknownTarget(f"no invitation {invitation!r}")
        if card.state != "pending":
            raise Refused(f"invitation {invitation} was accepted already")
        target = self.room(card.room)
        joins = card.contact not in target.members
        if joins and len(target.members) >= MAX_ROOM_MEMBERS:
            raise RoomFull(f"room {card.room} holds {MAX_ROOM_MEMBERS} members already")
        record = self._commit({"op": "accept", "id": invitation})
        return RoomJoin(card.room, (card.contact,), _at(record["at"]), card.inviter) if joins else None

    def leave(self, room: str, contacts: Sequence[str]) -> RoomLeave:
        target = self.room(room)
        people = list(dict.fromkeys(contacts))
        for contact in people:
            if contact not in target.members:
                raise Refused(f"{contact} is not in room {room}")
        record = self._commit({"op": "leave", "room": room, "contacts": people})
        return RoomLeave(room, tuple(people), _at(record["at"]))

    def say(
        self,
        sender: str,
        text: str,
        *,
        room: str | None = None,
        to: str | None = None,
        kind: str = "text",
        mentions: Iterable[str] = (),
        ref: str | None = None,
    ) -> Record:
        """Someone says something: in ``room``, or privately (a person to the helper, the
        helper to ``to``). Returns the stored message."""
        self._need_contact(sender)
        helper = sender == self.helper
        if kind not in KINDS:
            raise Refused(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if not text.strip():
            raise Refused("an empty message cannot be sent")
        mentioned = list(dict.fromkeys(mentions))
        record: Record = {"op": "msg", "from": sender}
        if room is not None:
            target = self.helper_room(room) if helper else self.room(room)
            if sender not in target.members:
                raise Refused(f"{sender} is not in room {room}")
            if not helper:
                strangers = [c for c in mentioned if c not in target.members]
                if strangers:
                    raise Refused(f"mentioned but not in room {room}: {', '.join(strangers)}")
            record["room"] = room
        else:
            if mentioned:
                raise Refused("mentions are for rooms only")
            other = to if helper else self.helper
            if other is None:
                raise UnknownTarget("a private message needs a recipient")
            self._need_contact(other)
            friend = other if helper else sender
            if friend not in self.friends:
                raise Refused(f"{friend} is not a friend of the helper")
            record["to"] = other
        record.update(id=self._next_id("m"), text=text, kind=kind, mentions=mentioned, ref=ref)
        return self._commit(record)["stored"]

    # ----------------------------------------------------------------------------- events

    def message_event(self, stored: Record) -> Message:
        mentions = tuple(stored["mentions"])
        return Message(
            id=stored["id"],
            sender=stored["from"],
            sender_name=stored["name"],
            text=stored["text"],
            at=_at(stored["at"]),
            room=stored.get("room"),
            kind=stored["kind"],
            mentions=mentions,
            mentions_self=self.helper in mentions,
        )

    def invitation_event(self, card: Invitation) -> RoomInvitation:
        room = self.room(card.room)
        return RoomInvitation(card.id, room.id, room.topic, card.inviter, _at(card.at), len(room.members))

    # ----------------------------------------------------------------------------- internals

    def _need_contact(self, contact: str) -> None:
        if contact not in self.contacts:
            raise UnknownTarget(f"no contact {contact!r}")

    def _arrived(self, action: str, room: str, contact: str, ref: str | None) -> None:
        """An action that changed nothing still arrived: its ref is recorded."""
        if ref is not None:
            self._commit({"op": "arrived", "action": action, "room": room, "contact": contact, "ref": ref})

    def _next_id(self, prefix: str) -> str:
        while True:
            self._ids[prefix] = self._ids.get(prefix, 0) + 1
            candidate = f"{prefix}-{self._ids[prefix]}"
            if candidate not in self.rooms and candidate not in self.invitations and candidate not in self.contacts:
                return candidate

    def _commit(self, record: Record) -> Record:
        record.setdefault("at", self._clock().isoformat())
        self._journal.append(record)
        return self._apply(record)

    def _apply(self, record: Record) -> Record:
        """One record into the world, the same when it happens and when it is replayed."""
        self._seq += 1
        applied = dict(record)
        op = record["op"]
        apply = getattr(self, f"_apply_{op}", None)
        if apply is not None:
            apply(record, applied)
        if record.get("ref") is not None:
            self._refs.append(record["ref"])
        found = re.fullmatch(r"([a-z]+)-(\d+)", str(record.get("id", "")))
        if found:
            self._ids[found[1]] = max(self._ids.get(found[1], 0), int(found[2]))
        return applied

    def _apply_contact(self, r: Record, _: Record) -> None:
        self.contacts[r["id"]] = r["name"]

    def _apply_friend(self, r: Record, _: Record) -> None:
        self.friends.add(r["contact"])

    def _apply_friend_request(self, r: Record, _: Record) -> None:
        self.friend_requests[r["id"]] = PendingFriend(r["id"], r["contact"], r["name"], r["hello"], r["at"])

    def _apply_friend_accept(self, r: Record, _: Record) -> None:
        pending = self.friend_requests[r["id"]]
        pending.state = "accepted"
        self.friends.add(pending.contact)

    def _apply_room(self, r: Record, _: Record) -> None:
        self.rooms[r["id"]] = Room(r["id"], r["topic"], r["owner"], list(r["members"]))

    def _apply_join(self, r: Record, _: Record) -> None:
        members = self.rooms[r["room"]].members
        members.extend(c for c in r["contacts"] if c not in members)

    def _apply_leave(self, r: Record, _: Record) -> None:
        room = self.rooms[r["room"]]
        room.members = [m for m in room.members if m not in r["contacts"]]

    def _apply_invite(self, r: Record, _: Record) -> None:
        self.invitations[r["id"]] = Invitation(r["id"], r["room"], r["contact"], r["inviter"], r["at"], self._seq)

    def _apply_accept(self, r: Record, _: Record) -> None:
        card = self.invitations[r["id"]]
        card.state = "accepted"
        members = self.rooms[card.room].members
        if card.contact not in members:
            members.append(card.contact)

    def _apply_msg(self, r: Record, applied: Record) -> None:
        stored = {k: v for k, v in r.items() if k != "op"}
        stored.update(seq=self._seq, name=self.name(r["from"]))
        if "room" in r:
            self.rooms[r["room"]].messages.append(stored)
        else:
            other = r["to"] if r["from"] == self.helper else r["from"]
            self.dms.setdefault(other, []).append(stored)
        applied["stored"] = stored


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def describe_invitation(world: SimWorld, card: Invitation) -> dict[str, Any]:
    room = world.rooms.get(card.room)
    return {
        "id": card.id,
        "seq": card.seq,
        "room": card.room,
        "topic": room.topic if room else card.room,
        "inviter": card.inviter,
        "inviter_name": world.name(card.inviter),
        "state": card.state,
        "at": card.at,
    }

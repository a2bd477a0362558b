"""The state of the simulated WeChat world and how one journal record changes it.

:class:`WorldState` is what the world *is* (contacts, friendships, rooms, conversations,
invitations, the refs received); :class:`bot.transports.sim_world.SimWorld` adds what may
*happen* in it. Every change is a record, written to the journal first and then applied by
the same code that replays the journal at start, so a restart rebuilds exactly the world that
was.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.base.transport import UnknownTarget
from bot.transports.sim_images import ImageStore, folder_for
from bot.transports.sim_journal import DEFAULT_JOURNAL, Journal, Record

log = logging.getLogger(__name__)


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


def utc_now() -> datetime:
    return datetime.now(UTC)


class WorldState:
    def __init__(
        self,
        helper: str = "helper",
        journal: str | Path = DEFAULT_JOURNAL,
        *,
        clock: Callable[[], datetime] = utc_now,
        images: ImageStore | None = None,
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
        self.clock = clock  # when things happen in the simulated world
        self._journal = Journal(journal)
        for record in self._journal.read():
            try:
                self._apply(record)
            except (KeyError, TypeError, ValueError):
                log.warning("%s: skipping a record that does not fit the world: %r", self._journal.path, record)
        self.images = images or ImageStore(folder_for(self._journal.path))
        self.images.keep_only({m["id"] for m in self._all_messages() if m.get("kind") == "image"})

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

    def _all_messages(self) -> list[Record]:
        rooms = [m for room in self.rooms.values() for m in room.messages]
        return rooms + [m for conversation in self.dms.values() for m in conversation]

    def received_refs(self) -> list[str]:
        """The ``ref`` of every helper action that arrived, in delivery order (repeats kept)."""
        return list(self._refs)

    def _next_id(self, prefix: str) -> str:
        while True:
            self._ids[prefix] = self._ids.get(prefix, 0) + 1
            candidate = f"{prefix}-{self._ids[prefix]}"
            if candidate not in self.rooms and candidate not in self.invitations and candidate not in self.contacts:
                return candidate

    def _commit(self, record: Record) -> Record:
        record.setdefault("at", self.clock().isoformat())
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
        if r.get("remover"):  # the members see it in the chat, as on WeChat
            for contact in r["contacts"]:
                room.messages.append(
                    {
                        "id": f"system-{self._seq}-{contact}",
                        "kind": "system",
                        "from": r["remover"],
                        "mentions": [],
                        "text": f"{self.name(contact)} 被移出群聊",
                        "at": r["at"],
                        "seq": self._seq,
                        "name": "",
                        "room": r["room"],
                    }
                )

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


def parse_at(text: str) -> datetime:
    return datetime.fromisoformat(text)

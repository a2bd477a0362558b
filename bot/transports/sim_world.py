"""The simulated WeChat world: what may happen in it, with the WeChat rules that shape the
bot (40 members for a direct add, 500 a room, only friends exchange private messages, a join
of several people may name one). The state and its journal are in
:mod:`bot.transports.sim_state`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

from bot.base.config import MAX_ROOM_MEMBERS, Settings
from bot.base.transport import (
    FriendRequest,
    Message,
    NeedInvite,
    Refused,
    RoomFull,
    RoomInvitation,
    RoomJoin,
    RoomLeave,
    UnknownTarget,
)
from bot.transports.sim_images import ImageRefused, ImageStore
from bot.transports.sim_journal import DEFAULT_JOURNAL, Record
from bot.transports.sim_state import Invitation, PendingFriend, Room, WorldState, parse_at, utc_now

__all__ = ["DIRECT_ADD_LIMIT", "Invitation", "PendingFriend", "Refused", "Room", "SimWorld"]

log = logging.getLogger(__name__)
DIRECT_ADD_LIMIT = 40  # up to this many members the helper adds people directly
KINDS = ("text", "image", "card")  # card: a business card (a contact shared)


class SimWorld(WorldState):
    """The world as the helper account sees it. Methods that change it raise the transport
    errors (:class:`UnknownTarget`, :class:`NeedInvite`, :class:`RoomFull`, :class:`Refused`)
    and return the event the bot should receive, if any."""

    def __init__(
        self,
        helper: str = "helper",
        journal: str | Path = DEFAULT_JOURNAL,
        *,
        helper_name: str = "小助手",
        clock: Callable[[], datetime] = utc_now,
        images: ImageStore | None = None,
    ):
        super().__init__(helper, journal, clock=clock, images=images)
        if helper not in self.contacts:
            self.add_contact(helper, helper_name)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        journal: str | Path = DEFAULT_JOURNAL,
        *,
        clock: Callable[[], datetime] = utc_now,
        helper: str | None = None,
    ) -> SimWorld:
        """The configured world: a room per brand group (the helper and the brand's managers)
        and the material group (the helper, demo distributors, ops); demo distributors,
        managers and ops are the helper's friends. What the journal holds already is kept.
        ``helper``: the helper account (default: the process's own, ``settings.helper_account``)."""
        raw = settings.raw
        world = cls(helper or settings.helper_account, journal, helper_name=f"{raw.platform.name}小助手", clock=clock)
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
            raise Refused(f"{self._who(contact)}已经是小助手的好友了")
        self.add_contact(contact, name or contact)
        request = self._next_id("fr")
        self._commit({"op": "friend_request", "id": request, "contact": contact, "name": name, "hello": hello})
        pending = self.friend_requests[request]
        return FriendRequest(request, contact, self.name(contact), hello, parse_at(pending.at))

    def accept_friend(self, request: str) -> None:
        pending = self.friend_requests.get(request)
        if pending is None:
            raise UnknownTarget(f"no friend request {request!r}")
        if pending.state == "pending":
            self._commit({"op": "friend_accept", "id": request})

    def create_room(self, topic: str, members: Sequence[str], *, owner: str | None = None) -> str:
        owner = owner or self.helper
        if not topic.strip():
            raise Refused("群聊需要一个群名称")
        everyone = list(dict.fromkeys([owner, *members]))
        for contact in everyone:
            self._need_contact(contact)
        if len(everyone) > MAX_ROOM_MEMBERS:
            raise RoomFull(f"一个群最多 {MAX_ROOM_MEMBERS} 人")
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
                raise Refused(f"{self._who(contact)}已经在群「{target.topic}」里了")
        if len(target.members) + len(people) > MAX_ROOM_MEMBERS:
            held = f"群「{target.topic}」已有 {len(target.members)} 人（上限 {MAX_ROOM_MEMBERS}）"
            raise RoomFull(f"{held}，加不下 {len(people)} 人")
        record = self._commit({"op": "join", "room": room, "contacts": people, "inviter": inviter, "ref": ref})
        return RoomJoin(room, (people[0],), parse_at(record["at"]), inviter)

    def add(self, room: str, contact: str, *, ref: str | None = None) -> RoomJoin | None:
        """The helper adds ``contact`` directly: only while the room has at most 40 members."""
        target = self.helper_room(room)
        self._need_contact(contact)
        if contact in target.members:
            self._arrived("add_to_room", room, contact, ref)
            return None
        if len(target.members) >= MAX_ROOM_MEMBERS:
            raise RoomFull(f"群「{target.topic}」已满 {MAX_ROOM_MEMBERS} 人")
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
            raise Refused(f"{self._who(inviter)}不在群「{target.topic}」里，不能邀请别人")
        self._need_contact(contact)
        if contact in target.members:
            self._arrived("invite_to_room", room, contact, ref)
            return None
        if len(target.members) >= MAX_ROOM_MEMBERS:
            raise RoomFull(f"群「{target.topic}」已满 {MAX_ROOM_MEMBERS} 人")
        invitation = self._next_id("inv")
        self._commit(
            {"op": "invite", "id": invitation, "room": room, "contact": contact, "inviter": inviter, "ref": ref}
        )
        return self.invitations[invitation]

    def pull(self, room: str, inviter: str, contacts: Sequence[str]) -> tuple[RoomJoin | None, list[Invitation]]:
        """``inviter``, a member, pulls people in as WeChat lets them: added directly while the
        room has at most 40 members, an invitation card each above that. The helper is always
        invited: it joins a person's group only when the bot accepts (a co-learning
        application). Returns the join (if any) and the invitation cards."""
        target = self.room(room)
        if inviter not in target.members:
            raise Refused(f"{self._who(inviter)}不在群「{target.topic}」里，不能拉人进群")
        people = list(dict.fromkeys(contacts))
        for contact in people:
            self._need_contact(contact)
            if contact in target.members:
                raise Refused(f"{self._who(contact)}已经在群「{target.topic}」里了")
        direct = [c for c in people if c != self.helper] if len(target.members) <= DIRECT_ADD_LIMIT else []
        joined = self.join(room, direct, inviter=inviter) if direct else None
        cards = [self.invite(room, c, inviter=inviter) for c in people if c not in direct]
        return joined, [card for card in cards if card is not None]

    def accept_invitation(self, invitation: str) -> RoomJoin | None:
        card = self.invitations.get(invitation)
        if card is None:
            raise UnknownTarget(f"no invitation {invitation!r}")
        if card.state != "pending":
            raise Refused(f"邀请 {invitation} 已经接受过了")
        target = self.room(card.room)
        joins = card.contact not in target.members
        if joins and len(target.members) >= MAX_ROOM_MEMBERS:
            raise RoomFull(f"群「{target.topic}」已满 {MAX_ROOM_MEMBERS} 人")
        record = self._commit({"op": "accept", "id": invitation})
        return RoomJoin(card.room, (card.contact,), parse_at(record["at"]), card.inviter) if joins else None

    def leave(self, room: str, contacts: Sequence[str]) -> RoomLeave:
        target = self.room(room)
        people = list(dict.fromkeys(contacts))
        for contact in people:
            if contact not in target.members:
                raise Refused(f"{self._who(contact)}不在群「{target.topic}」里")
        record = self._commit({"op": "leave", "room": room, "contacts": people})
        return RoomLeave(room, tuple(people), parse_at(record["at"]))

    def remove(self, room: str, contact: str, *, ref: str | None = None) -> RoomLeave | None:
        """The helper takes ``contact`` out of a room: only the room's owner may, as on WeChat.
        None when they are not in it (left already, or a resend)."""
        target = self.helper_room(room)
        if target.owner != self.helper:
            raise Refused(f"小助手不是群「{target.topic}」的群主，不能移出成员")
        if contact == self.helper:
            raise Refused("the helper cannot remove itself")
        self._need_contact(contact)
        if contact not in target.members:
            self._arrived("remove_from_room", room, contact, ref)
            return None
        record = self._commit({"op": "leave", "room": room, "contacts": [contact], "remover": self.helper, "ref": ref})
        return RoomLeave(room, (contact,), parse_at(record["at"]))

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
        image: bytes | None = None,
    ) -> Record:
        """Someone says something: in ``room``, or privately (a person to the helper, the
        helper to ``to``). An image's bytes are kept apart from the journal (bounded, see
        :mod:`bot.transports.sim_images`). Returns the stored message."""
        self._need_contact(sender)
        helper = sender == self.helper
        if kind not in KINDS:
            raise Refused(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if not text.strip():
            raise Refused("不能发送空白消息")
        mentioned = list(dict.fromkeys(mentions))
        record: Record = {"op": "msg", "from": sender}
        if room is not None:
            target = self.helper_room(room) if helper else self.room(room)
            if sender not in target.members:
                raise Refused(f"{self._who(sender)}不在群「{target.topic}」里")
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
                if helper:
                    raise Refused(f"{self._who(friend)}不是小助手的好友，不能私聊")
                raise Refused("你还不是小助手的好友：小助手通过你的好友申请后才能发消息")
            record["to"] = other
        record.update(id=self._next_id("m"), text=text, kind=kind, mentions=mentioned, ref=ref)
        if image is not None:
            if kind != "image":
                raise Refused("only an image message carries image bytes")
            try:
                self.images.put(record["id"], image)
            except ImageRefused as refused:
                if not helper:
                    raise Refused(str(refused)) from None
                log.warning("sim: the helper's image %s is not kept: %s", record["id"], refused)
        stored: Record = self._commit(record)["stored"]
        return stored

    # ----------------------------------------------------------------------------- events

    def message_event(self, stored: Record) -> Message:
        mentions = tuple(stored["mentions"])
        return Message(
            id=stored["id"],
            sender=stored["from"],
            sender_name=stored["name"],
            text=stored["text"],
            at=parse_at(stored["at"]),
            room=stored.get("room"),
            kind=stored["kind"],
            mentions=mentions,
            mentions_self=self.helper in mentions,
        )

    def invitation_event(self, card: Invitation) -> RoomInvitation:
        room = self.room(card.room)
        return RoomInvitation(card.id, room.id, room.topic, card.inviter, parse_at(card.at), len(room.members))

    # ----------------------------------------------------------------------------- internals

    def _need_contact(self, contact: str) -> None:
        if contact not in self.contacts:
            raise UnknownTarget(f"no contact {contact!r}")

    def _who(self, contact: str) -> str:
        return f"{self.name(contact)}（{contact}）"

    def _arrived(self, action: str, room: str, contact: str, ref: str | None) -> None:
        """An action that changed nothing still arrived: its ref is recorded."""
        if ref is not None:
            self._commit({"op": "arrived", "action": action, "room": room, "contact": contact, "ref": ref})

"""HTTP for the simulated world: people act (``POST``), anyone looks (``GET``), and ``/sim``
serves a WeChat-like chat page that does both.

The simulator contributes these routes to the process's web application
(``SimTransport.web_routes()``); on an app of one's own, ``app.add_routes(sim_routes(transport))``.
Answers are JSON; a refused action is 422 ``{"status": "refused", "reason": …}``, an unknown id
in a path is 404. Every POST carries a JSON body (``Content-Type: application/json``) and no
foreign ``Origin``, or it is 403 (:mod:`bot.transports.sim_guard`).

| route | body / answer |
| --- | --- |
| ``GET /sim`` | the chat page |
| ``POST /sim/messages`` | ``{from, text, room?, mentions?, kind?: text\\|image\\|card, image_b64?}`` → 202 |
| ``POST /sim/friendships`` | ``{from, name?, hello?}`` → 202 ``{status, request, contact}`` |
| ``GET /sim/contacts`` | ``{helper: {id, name}, contacts: [{id, name, friend}]}`` |
| ``GET /sim/contacts/{id}/messages`` | ``{contact, messages, conversation, invitations}`` |
| ``GET /sim/rooms[?member=id]`` | ``{rooms: [{id, topic, owner, member_count, helper_in}]}`` |
| ``POST /sim/rooms`` | ``{owner, topic, members?}`` → 201 ``{status, room}`` (a person's own group) |
| ``GET /sim/rooms/{id}`` | ``{id, topic, owner, member_count, members: [{id, name}]}`` |
| ``GET /sim/rooms/{id}/messages`` | ``{room, topic, messages}`` |
| ``POST /sim/rooms/{id}/join`` | ``{contact, name?}`` or ``{contacts: [id or {id, name}], inviter?}`` → 202 |
| ``POST /sim/rooms/{id}/leave`` | ``{contact}`` or ``{contacts: [...]}`` → 202 |
| ``POST /sim/rooms/{id}/invitations`` | ``{from, contact}`` → 202 (the helper invited: RoomInvitation) |
| ``POST /sim/rooms/{id}/members`` | ``{from, contacts}`` → 202 ``{joined, invited}``: a member pulls people in |
| ``GET /sim/images/{message id}`` | the image's bytes (404 once dropped: the images kept are bounded) |
| ``POST /sim/invitations/{id}/accept`` | → 202 ``{status, invitation, room, contact, joined}`` |
| ``GET /sim/journal/refs`` | ``{refs: [...], count}`` in delivery order |
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from bot.base.jsonutil import body_problem, dumps, loads
from bot.base.transport import Event, TransportError
from bot.transports import sim_guard
from bot.transports.sim_images import image_type
from bot.transports.sim_journal import Record
from bot.transports.sim_world import KINDS, Invitation, Room, SimWorld

PAGE = Path(__file__).resolve().parent / "static" / "sim.html"


def reply(data: Any, status: int = 200) -> web.Response:
    """JSON out, as the rest of the bot answers (amounts as exact strings)."""
    return web.json_response(data, status=status, dumps=dumps)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# An image travels as base64 in JSON (4/3 of its size): room for the largest image kept.
MESSAGE_BODY_MAX = 3 * 1024 * 1024
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",  # no other page may frame the chat and borrow the operator's clicks
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' "
    "'unsafe-inline'; img-src 'self' data: blob:; frame-ancestors 'none'; form-action 'self'",
}


class SimSide(Protocol):
    """The bot's side of the world, as these routes use it (:class:`bot.transports.sim.SimTransport`,
    which contributes these routes: it imports this module, not the other way round)."""

    world: SimWorld

    def deliver(self, event: Event) -> None: ...


class Bad(Exception):
    def __init__(self, reason: str, status: int = 422):
        super().__init__(reason)
        self.reason = reason
        self.status = status


def _guard(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        refused = sim_guard.refusal(request)
        if refused is not None:
            return reply({"status": "forbidden", "reason": refused}, 403)
        try:
            return await handler(request)
        except Bad as exc:
            status = "not_found" if exc.status == 404 else "refused"
            return reply({"status": status, "reason": exc.reason}, exc.status)
        except TransportError as exc:
            return reply({"status": "refused", "reason": str(exc)}, 422)

    return guarded


async def _body(request: web.Request) -> dict[str, Any]:
    try:  # the loader refuses what would stall the loop or break the journal (a lone surrogate)
        data = loads(await request.read() or b"null")
    except ValueError as error:
        raise Bad(body_problem(error)) from None
    if not isinstance(data, dict):
        raise Bad("the body must be a JSON object")
    return data


def _text(data: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise Bad(f"{key!r} must be a non-empty string" if required else f"{key!r} must be a string")
    return value


def _people(data: dict[str, Any]) -> list[tuple[str, str | None]]:
    """``{contact, name?}`` or ``{contacts: [id or {id, name}]}`` as (id, name) pairs."""
    if "contacts" in data:
        items = data["contacts"]
        if not isinstance(items, list) or not items:
            raise Bad("'contacts' must be a non-empty list")
    else:
        items = [{"id": _text(data, "contact"), "name": data.get("name")}]
    people: list[tuple[str, str | None]] = []
    for item in items:
        if isinstance(item, str) and item.strip():
            people.append((item, None))
        elif isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"].strip():
            name = item.get("name")
            people.append((item["id"], name if isinstance(name, str) and name.strip() else None))
        else:
            raise Bad("each contact is an id or {id, name}")
    return people


def shown(world: SimWorld, messages: list[Record]) -> list[Record]:
    """Messages as the page shows them: an image whose bytes are kept has its ``image`` URL."""
    return [
        {**m, "image": f"/sim/images/{m['id']}"} if m.get("kind") == "image" and m["id"] in world.images else m
        for m in messages
    ]


def _image_data(data: dict[str, Any]) -> bytes | None:
    encoded = data.get("image_b64")
    if encoded is None:
        return None
    if not isinstance(encoded, str):
        raise Bad("'image_b64' must be a base64 string")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Bad("'image_b64' is not valid base64") from None


def room_summary(world: SimWorld, room: Room) -> dict[str, Any]:
    return {
        "id": room.id,
        "topic": room.topic,
        "owner": room.owner,
        "member_count": len(room.members),
        "helper_in": world.helper in room.members,
    }


def invitation_json(world: SimWorld, card: Invitation) -> dict[str, Any]:
    room = world.rooms.get(card.room)
    return {
        "id": card.id,
        "seq": card.seq,
        "room": card.room,
        "topic": room.topic if room else card.room,
        "contact": card.contact,
        "inviter": card.inviter,
        "inviter_name": world.name(card.inviter),
        "state": card.state,
        "at": card.at,
    }


class SimHandlers:
    def __init__(self, transport: SimSide, page: Path = PAGE):
        self.transport = transport
        self.world = transport.world
        self.page = page

    def _contact(self, contact: str, role: str = "contact") -> str:
        if contact not in self.world.contacts:
            raise Bad(f"unknown {role} {contact!r} (see GET /sim/contacts)")
        return contact

    def _helper_in(self, room: str) -> bool:
        return self.world.helper in self.world.rooms[room].members

    def _not_helper(self, contacts: list[str], what: str) -> None:
        if self.world.helper in contacts:
            raise Bad(f"the helper {what} only through the bot")

    def _room(self, request: web.Request, status: int = 404) -> Room:
        room = self.world.rooms.get(request.match_info["id"])
        if room is None:
            raise Bad(f"unknown room {request.match_info['id']!r} (see GET /sim/rooms)", status)
        return room

    async def page_html(self, request: web.Request) -> web.Response:
        html = self.page.read_text(encoding="utf-8")
        return web.Response(text=html, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS)

    async def post_message(self, request: web.Request) -> web.Response:
        data = await _body(request.clone(client_max_size=MESSAGE_BODY_MAX))
        sender = self._contact(_text(data, "from"), "sender")
        if sender == self.world.helper:
            raise Bad("the helper speaks only through the bot")
        kind = data.get("kind", "text")
        if kind not in KINDS:
            raise Bad("'kind' must be 'text', 'image' or 'card'")
        image = _image_data(data)
        if image is not None and kind != "image":
            raise Bad("'image_b64' goes with kind 'image'")
        text = _text(data, "text", required=kind == "text") or ("[名片]" if kind == "card" else "[图片]")
        mentions = data.get("mentions", [])
        if not isinstance(mentions, list) or not all(isinstance(m, str) for m in mentions):
            raise Bad("'mentions' must be a list of contact ids")
        room_id = data.get("room")
        if room_id is not None:
            if not isinstance(room_id, str) or room_id not in self.world.rooms:
                raise Bad(f"unknown room {room_id!r} (see GET /sim/rooms)")
            room = self.world.rooms[room_id]
            if sender not in room.members:
                raise Bad(f"{sender} is not in room {room_id}")
            # As in a WeChat client: typing "@Name" mentions that member.
            mentions += [m for m in room.members if f"@{self.world.name(m)}" in text and m not in mentions]
        stored = self.world.say(sender, text, room=room_id, kind=kind, mentions=mentions, image=image)
        if room_id is None or self._helper_in(room_id):  # the bot sees only rooms it is in
            self.transport.deliver(self.world.message_event(stored))
        return reply({"status": "accepted", "message": shown(self.world, [stored])[0]}, 202)

    async def post_friendship(self, request: web.Request) -> web.Response:
        data = await _body(request)
        contact = _text(data, "from")
        name = _text(data, "name", required=False).strip() or self.world.contacts.get(contact, contact)
        event = self.world.request_friend(contact, name, _text(data, "hello", required=False))
        self.transport.deliver(event)
        return reply({"status": "accepted", "request": event.id, "contact": contact}, 202)

    async def contacts(self, request: web.Request) -> web.Response:
        world = self.world
        others = [(c, name) for c, name in world.contacts.items() if c != world.helper]
        people = [{"id": c, "name": name, "friend": c in world.friends} for c, name in others]
        return reply({"helper": {"id": world.helper, "name": world.name(world.helper)}, "contacts": people})

    async def contact_messages(self, request: web.Request) -> web.Response:
        contact = request.match_info["id"]
        if contact not in self.world.contacts:
            raise Bad(f"unknown contact {contact!r} (see GET /sim/contacts)", 404)
        world = self.world
        return reply(
            {
                "contact": {"id": contact, "name": world.name(contact), "friend": contact in world.friends},
                "messages": shown(world, world.said_to(contact)),
                "conversation": shown(world, world.conversation(contact)),
                "invitations": [invitation_json(world, card) for card in world.invitations_for(contact)],
            }
        )

    async def rooms(self, request: web.Request) -> web.Response:
        member = request.query.get("member")
        rooms = self.world.rooms_of(member) if member else list(self.world.rooms.values())
        return reply({"rooms": [room_summary(self.world, room) for room in rooms]})

    async def create_room(self, request: web.Request) -> web.Response:
        data = await _body(request)
        owner = self._contact(_text(data, "owner"), "owner")
        members = data.get("members", [])
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise Bad("'members' must be a list of contact ids")
        for member in members:
            self._contact(member, "member")
        self._not_helper(members, "joins a group by accepting an invitation (invite it once the group exists)")
        room = self.world.create_room(_text(data, "topic"), members, owner=owner)
        return reply({"status": "created", "room": room}, 201)

    async def room(self, request: web.Request) -> web.Response:
        room = self._room(request)
        members = [{"id": m, "name": self.world.name(m)} for m in room.members]
        return reply({**room_summary(self.world, room), "members": members})

    async def room_messages(self, request: web.Request) -> web.Response:
        room = self._room(request)
        return reply({"room": room.id, "topic": room.topic, "messages": shown(self.world, room.messages)})

    async def join(self, request: web.Request) -> web.Response:
        room = self._room(request, 422)
        data = await _body(request)
        people = _people(data)
        inviter = data.get("inviter")
        if inviter is not None:
            self._contact(str(inviter), "inviter")
        self._not_helper([c for c, _ in people], "joins rooms (by accepting invitations)")
        for contact, name in people:
            self.world.add_contact(contact, name or contact)
        event = self.world.join(room.id, [c for c, _ in people], inviter=inviter)
        if self._helper_in(room.id):
            self.transport.deliver(event)
        joined = list(dict.fromkeys(c for c, _ in people))
        body = {"status": "accepted", "room": room.id, "joined": joined, "named": list(event.named)}
        return reply({**body, "member_count": len(room.members)}, 202)

    async def leave(self, request: web.Request) -> web.Response:
        room = self._room(request, 422)
        people = [self._contact(c) for c, _ in _people(await _body(request))]
        self._not_helper(people, "leaves rooms")
        event = self.world.leave(room.id, people)
        if self._helper_in(room.id):
            self.transport.deliver(event)
        return reply({"status": "accepted", "room": room.id, "left": people, "member_count": len(room.members)}, 202)

    async def invite(self, request: web.Request) -> web.Response:
        room = self._room(request, 422)
        data = await _body(request)
        inviter = self._contact(_text(data, "from"), "inviter")
        if inviter == self.world.helper:
            raise Bad("the helper invites only through the bot")
        contact = self._contact(_text(data, "contact"))
        card = self.world.invite(room.id, contact, inviter=inviter)
        if card is None:
            raise Bad(f"{contact} is already in room {room.id}")
        if contact == self.world.helper:
            self.transport.deliver(self.world.invitation_event(card))
        return reply({"status": "accepted", "invitation": card.id, "room": room.id, "contact": contact}, 202)

    async def pull(self, request: web.Request) -> web.Response:
        """A member pulls people in, as in WeChat: added directly while the room is small, an
        invitation card above 40 members; the helper always gets an invitation (the bot
        decides whether to accept it)."""
        room = self._room(request, 422)
        data = await _body(request)
        inviter = self._contact(_text(data, "from"), "inviter")
        if inviter == self.world.helper:
            raise Bad("the helper pulls people in only through the bot")
        people = data.get("contacts")
        if not isinstance(people, list) or not people or not all(isinstance(c, str) for c in people):
            raise Bad("'contacts' must be a non-empty list of contact ids")
        for contact in people:
            self._contact(contact)
        before = set(room.members)
        joined, cards = self.world.pull(room.id, inviter, people)
        if joined is not None and self._helper_in(room.id):
            self.transport.deliver(joined)
        for card in cards:
            if card.contact == self.world.helper:
                self.transport.deliver(self.world.invitation_event(card))
        body = {"status": "accepted", "room": room.id, "joined": [m for m in room.members if m not in before]}
        return reply({**body, "invited": [card.contact for card in cards], "member_count": len(room.members)}, 202)

    async def image(self, request: web.Request) -> web.Response:
        data = self.world.images.get(request.match_info["id"])
        if data is None:
            raise Bad("this image is no longer kept (or never was)", 404)
        headers = {
            "Cache-Control": "private, max-age=86400",  # a message's image never changes
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        }
        return web.Response(body=data, content_type=image_type(data) or "application/octet-stream", headers=headers)

    async def accept(self, request: web.Request) -> web.Response:
        card = self.world.invitations.get(request.match_info["id"])
        if card is None:
            raise Bad(f"unknown invitation {request.match_info['id']!r}", 404)
        if card.contact == self.world.helper:
            raise Bad("the helper accepts its invitations through the bot")
        event = self.world.accept_invitation(card.id)
        if event is not None and self._helper_in(card.room):
            self.transport.deliver(event)
        answer = {"status": "accepted", "invitation": card.id, "room": card.room, "contact": card.contact}
        return reply({**answer, "joined": event is not None}, 202)

    async def refs(self, request: web.Request) -> web.Response:
        refs = self.world.received_refs()
        return reply({"refs": refs, "count": len(refs)})

    def routes(self) -> list[web.RouteDef]:
        g = _guard
        return [
            web.get("/sim", g(self.page_html)),
            web.post("/sim/messages", g(self.post_message)),
            web.post("/sim/friendships", g(self.post_friendship)),
            web.get("/sim/contacts", g(self.contacts)),
            web.get("/sim/contacts/{id}/messages", g(self.contact_messages)),
            web.get("/sim/rooms", g(self.rooms)),
            web.post("/sim/rooms", g(self.create_room)),
            web.get("/sim/rooms/{id}", g(self.room)),
            web.get("/sim/rooms/{id}/messages", g(self.room_messages)),
            web.post("/sim/rooms/{id}/join", g(self.join)),
            web.post("/sim/rooms/{id}/leave", g(self.leave)),
            web.post("/sim/rooms/{id}/invitations", g(self.invite)),
            web.post("/sim/rooms/{id}/members", g(self.pull)),
            web.get("/sim/images/{id}", g(self.image)),
            web.post("/sim/invitations/{id}/accept", g(self.accept)),
            web.get("/sim/journal/refs", g(self.refs)),
        ]


def sim_routes(transport: SimSide, page: Path = PAGE) -> list[web.RouteDef]:
    """Every ``/sim`` route, bound to ``transport``: ``app.add_routes(sim_routes(transport))``
    (what ``SimTransport.web_routes()`` contributes to the process's application)."""
    return SimHandlers(transport, page).routes()

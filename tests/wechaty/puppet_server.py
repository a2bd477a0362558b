"""A fake wechaty puppet service: a grpclib server speaking the real wechaty-grpc protocol.

wechaty-grpc ships only the client stub, so the route table is built here by hand: one
``grpclib.const.Handler`` per ``/wechaty.Puppet/<Method>`` named in the stub, with the request
and response classes of ``wechaty_grpc.wechaty.puppet``. Methods without an answer below get an
empty response. The server holds a small WeChat world, records every call (method + request) so
tests can assert what the bot sent, and pushes events into the open Event streams with the
payload shapes observed from real puppet services (WECHATY.md).

It also misbehaves on demand, as services do: it goes away and comes back on the same port
(``stop()`` / ``start(port)``, the world kept), answers slowly (``latency``) or not at all while
keeping the connection (``hang()`` / ``resume()``, like a SIGSTOPped process), answers a Ding
with a DONG event and can send heartbeats. The helper is logged in as a WeChat id
(``wxid_…``) that is not the bot's logical account name ("helper"), as on WeChat.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import itertools
import json
import re
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from grpclib.const import Cardinality, Handler, Status
from grpclib.exceptions import GRPCError
from grpclib.server import Server, Stream
from wechaty_grpc.wechaty import PuppetStub
from wechaty_grpc.wechaty import puppet as pb

# Message types in the TypeScript numbering the client expects (it remaps the integer).
TEXT, IMAGE = 7, 6
EventType = pb.EventType
_STUB_CALL = re.compile(r'self\._(unary_unary|unary_stream|stream_unary|stream_stream)\(\s*"/wechaty\.Puppet/(\w+)"')
_CARDINALITY = {
    "unary_unary": Cardinality.UNARY_UNARY,
    "unary_stream": Cardinality.UNARY_STREAM,
    "stream_unary": Cardinality.STREAM_UNARY,
    "stream_stream": Cardinality.STREAM_STREAM,
}


@dataclass(frozen=True)
class Call:
    method: str
    request: Any


def puppet_methods() -> list[tuple[str, Cardinality, type, type]]:
    """(method, cardinality, request class, response class) for every method of the stub."""
    classes = {name.lower(): cls for name, cls in vars(pb).items() if isinstance(cls, type)}
    return [
        (method, _CARDINALITY[kind], classes[f"{method}request".lower()], classes[f"{method}response".lower()])
        for kind, method in _STUB_CALL.findall(inspect.getsource(PuppetStub))
    ]


class _Routes:
    def __init__(self, mapping: dict[str, Handler]) -> None:
        self._mapping = mapping

    def __mapping__(self) -> dict[str, Handler]:
        return self._mapping


HELPER_WXID = "wxid_9k2m7q4x1h8p22"


class FakePuppetService:
    """The puppet service with one logged-in helper account."""

    def __init__(self, self_id: str = HELPER_WXID, self_name: str = "小助手") -> None:
        self.self_id = self_id
        self.contacts: dict[str, pb.ContactPayloadResponse] = {}
        self.rooms: dict[str, pb.RoomPayloadResponse] = {}
        self.messages: dict[str, pb.MessagePayloadResponse] = {}
        self.friendships: dict[str, pb.FriendshipPayloadResponse] = {}
        self.invitations: dict[str, pb.RoomInvitationPayloadResponse] = {}
        self.images: dict[str, str] = {}  # message id → the FileBox JSON MessageImage answers with
        self.accepted_invitations: list[str] = []
        self.calls: list[Call] = []
        self.latency: Callable[[Call], float] | None = None  # seconds before answering a call
        self.failures: dict[str, GRPCError] = {}  # method → the error it answers with
        self.streams_opened = 0
        self.invitation_rooms: dict[str, str] = {}  # invitation id → the room accepting it joins
        self._answering = asyncio.Event()
        self._answering.set()
        self._streams: list[asyncio.Queue[pb.EventResponse | None]] = []
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._server: Server | None = None
        self.port = 0
        self.add_contact(self_id, self_name)

    # -- running --------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> None:
        # IPPROTO_TCP explicitly: with proto 0 neither asyncio nor grpclib sets TCP_NODELAY on the
        # accepted connections, and every call waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port = sock.getsockname()[1]
        mapping = {
            f"/wechaty.Puppet/{method}": Handler(self._handler(method, cardinality, reply), cardinality, request, reply)
            for method, cardinality, request, reply in puppet_methods()
        }
        self._server = Server([_Routes(mapping)])
        await self._server.start(sock=sock)

    async def stop(self) -> None:
        """End the event streams, then close the server (cancelling whatever still runs). A hung
        service stopped is killed: it answers again when started again."""
        self.resume()
        self.end_event_streams()
        if self._server is not None:
            await asyncio.sleep(0)  # let the stream handlers see their end
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def end_event_streams(self) -> None:
        """Close every open Event stream cleanly, as a puppet service restarting would."""
        for queue in self._streams:
            queue.put_nowait(None)

    def hang(self) -> None:
        """Stop answering anything — calls, events, heartbeats — while keeping every connection
        open (and taking new ones), as a process stopped with SIGSTOP does."""
        self._answering.clear()

    def resume(self) -> None:
        self._answering.set()

    def heartbeat(self) -> None:
        self.push(EventType.EVENT_TYPE_HEARTBEAT, {"data": "heartbeat@distbot-test", "timeout": 60000})

    def scan(self, qrcode: str, status: int = 2) -> None:
        self.push(EventType.EVENT_TYPE_SCAN, {"status": status, "qrcode": qrcode, "data": ""})

    # -- what the bot did -----------------------------------------------------------------

    def requests(self, method: str) -> list[Any]:
        return [call.request for call in self.calls if call.method == method]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 3.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(condition)

    async def wait_for_call(self, method: str, count: int = 1, timeout: float = 3.0) -> list[Any]:
        await self.wait_for(lambda: len(self.requests(method)) >= count, timeout)
        return self.requests(method)

    # -- the world ------------------------------------------------------------------------

    def add_contact(self, contact_id: str, name: str, *, friend: bool = True) -> None:
        self.contacts[contact_id] = pb.ContactPayloadResponse(id=contact_id, name=name, friend=friend, type=1)

    def add_room(self, room_id: str, topic: str, members: Sequence[str]) -> None:
        self.rooms[room_id] = pb.RoomPayloadResponse(
            id=room_id, topic=topic, owner_id=self.self_id, member_ids=[self.self_id, *members]
        )

    def next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    # -- events ---------------------------------------------------------------------------

    def push(self, event: EventType, payload: dict[str, Any]) -> None:
        response = pb.EventResponse(type=event, payload=json.dumps(payload))
        for queue in self._streams:
            queue.put_nowait(response)

    def dm(self, sender: str, text: str, *, kind: int = TEXT) -> str:
        return self._message(sender, text, room="", mentions=(), kind=kind)

    def room_message(self, room: str, sender: str, text: str, mentions: Sequence[str] = ()) -> str:
        return self._message(sender, text, room=room, mentions=mentions, kind=TEXT)

    def _message(self, sender: str, text: str, *, room: str, mentions: Sequence[str], kind: int) -> str:
        message_id = self.next_id("m")
        self.messages[message_id] = pb.MessagePayloadResponse(
            id=message_id,
            text=text,
            timestamp=int(time.time()),
            type=kind,
            from_id=sender,
            room_id=room,
            to_id="" if room else self.self_id,
            mention_ids=list(mentions),
        )
        self.push(EventType.EVENT_TYPE_MESSAGE, {"messageId": message_id})
        return message_id

    def image(self, sender: str, data: bytes, *, room: str = "", url: str | None = None) -> str:
        """A person sends a picture; MessageImage hands it out as a base64 FileBox, or as a URL
        box pointing at ``url`` (as some services do for large files)."""
        message_id = self._message(sender, "", room=room, mentions=(), kind=IMAGE)
        inline = {"boxType": 1, "base64": base64.b64encode(data).decode()}
        box = {"boxType": 2, "remoteUrl": url, "headers": {}} if url else inline
        self.images[message_id] = json.dumps({**box, "name": f"{message_id}.jpg", "metadata": {}})
        return message_id

    def friend_request(self, contact: str, hello: str) -> str:
        friendship_id = self.next_id("f")
        self.friendships[friendship_id] = pb.FriendshipPayloadResponse(
            id=friendship_id, contact_id=contact, hello=hello, type=pb.FriendshipType.FRIENDSHIP_TYPE_RECEIVE
        )
        self.push(EventType.EVENT_TYPE_FRIENDSHIP, {"friendshipId": friendship_id})
        return friendship_id

    def room_invitation(self, inviter: str, topic: str, members: Sequence[str], *, room: str | None = None) -> str:
        """The helper is invited into a room; with ``room`` (which must exist), accepting the
        invitation makes the helper join it, and a ROOM_JOIN naming the helper follows."""
        invitation_id = self.next_id("inv")
        if room is not None:
            self.invitation_rooms[invitation_id] = room
        self.invitations[invitation_id] = pb.RoomInvitationPayloadResponse(
            id=invitation_id,
            inviter_id=inviter,
            topic=topic,
            member_count=len(members),
            member_ids=list(members),
            timestamp=int(time.time()),
            receiver_id=self.self_id,
        )
        self.push(EventType.EVENT_TYPE_ROOM_INVITE, {"roomInvitationId": invitation_id})
        return invitation_id

    def join(self, room: str, contacts: Sequence[str], inviter: str, *, named: Sequence[str] | None = None) -> None:
        """People join ``room``; the event may name only some of them (``named``)."""
        self.rooms[room].member_ids.extend(c for c in contacts if c not in self.rooms[room].member_ids)
        payload = {"roomId": room, "inviteeIdList": list(named or contacts), "inviterId": inviter}
        self.push(EventType.EVENT_TYPE_ROOM_JOIN, {**payload, "timestamp": int(time.time())})

    def leave(self, room: str, contacts: Sequence[str], remover: str) -> None:
        self.rooms[room].member_ids = [m for m in self.rooms[room].member_ids if m not in contacts]
        payload = {"roomId": room, "removeeIdList": list(contacts), "removerId": remover}
        self.push(EventType.EVENT_TYPE_ROOM_LEAVE, {**payload, "timestamp": int(time.time())})

    # -- the route table ------------------------------------------------------------------

    def _handler(self, method: str, cardinality: Cardinality, reply: type) -> Callable[[Stream], Awaitable[None]]:
        answer = getattr(self, f"_rpc_{method}", None)

        async def handle(stream: Stream) -> None:
            if cardinality.client_streaming:
                request = [message async for message in stream]
            else:
                request = await stream.recv_message()
            call = Call(method, request)
            async with self._changed:
                self.calls.append(call)
                self._changed.notify_all()
            await self._answering.wait()
            if self.latency is not None:
                await asyncio.sleep(self.latency(call))
            if method in self.failures:
                raise self.failures[method]
            if method == "Event":
                await self._event_stream(stream)
            elif cardinality.server_streaming:
                pass  # nothing to stream: the stream ends empty
            else:
                await stream.send_message(await answer(request) if answer else reply())

        return handle

    async def _event_stream(self, stream: Stream) -> None:
        queue: asyncio.Queue[pb.EventResponse | None] = asyncio.Queue()
        # A puppet service that is logged in says so on every new stream.
        queue.put_nowait(
            pb.EventResponse(type=EventType.EVENT_TYPE_LOGIN, payload=json.dumps({"contactId": self.self_id}))
        )
        self._streams.append(queue)
        async with self._changed:
            self.streams_opened += 1
            self._changed.notify_all()
        try:
            while (event := await queue.get()) is not None:
                await self._answering.wait()
                await stream.send_message(event)
        finally:
            self._streams.remove(queue)

    @staticmethod
    def _get(table: dict[str, Any], key: str, what: str) -> Any:
        if key not in table:
            raise GRPCError(Status.NOT_FOUND, f"no {what} {key!r}")
        return table[key]

    async def _rpc_ContactPayload(self, request: pb.ContactPayloadRequest) -> Any:
        return self._get(self.contacts, request.id, "contact")

    async def _rpc_MessagePayload(self, request: pb.MessagePayloadRequest) -> Any:
        return self._get(self.messages, request.id, "message")

    async def _rpc_RoomPayload(self, request: pb.RoomPayloadRequest) -> Any:
        return self._get(self.rooms, request.id, "room")

    async def _rpc_RoomMemberList(self, request: pb.RoomMemberListRequest) -> Any:
        return pb.RoomMemberListResponse(member_ids=list(self._get(self.rooms, request.id, "room").member_ids))

    async def _rpc_FriendshipPayload(self, request: pb.FriendshipPayloadRequest) -> Any:
        return self._get(self.friendships, request.id, "friendship")

    async def _rpc_RoomInvitationPayload(self, request: pb.RoomInvitationPayloadRequest) -> Any:
        return self._get(self.invitations, request.id, "room invitation")

    async def _rpc_MessageSendText(self, request: pb.MessageSendTextRequest) -> Any:
        return pb.MessageSendTextResponse(id=self._sent(request.conversation_id, request.text, TEXT))

    async def _rpc_MessageSendFile(self, request: pb.MessageSendFileRequest) -> Any:
        return pb.MessageSendFileResponse(id=self._sent(request.conversation_id, "", IMAGE))

    def _sent(self, conversation: str, text: str, kind: int) -> str:
        """Store what the helper sent, so the client can read the message back as say() does."""
        if conversation not in self.rooms:
            self._get(self.contacts, conversation, "contact")
        message_id = self.next_id("sent")
        in_room = conversation in self.rooms
        self.messages[message_id] = pb.MessagePayloadResponse(
            id=message_id,
            text=text,
            timestamp=int(time.time()),
            type=kind,
            from_id=self.self_id,
            room_id=conversation if in_room else "",
            to_id="" if in_room else conversation,
        )
        return message_id

    async def _rpc_RoomAdd(self, request: pb.RoomAddRequest) -> Any:
        members = self._get(self.rooms, request.id, "room").member_ids
        self._get(self.contacts, request.contact_id, "contact")
        if request.contact_id not in members:
            members.append(request.contact_id)
        return pb.RoomAddResponse()

    async def _rpc_RoomDel(self, request: pb.RoomDelRequest) -> Any:
        room = self._get(self.rooms, request.id, "room")
        if room.owner_id != self.self_id:
            raise GRPCError(Status.PERMISSION_DENIED, "only the room's owner may remove members")
        room.member_ids = [m for m in room.member_ids if m != request.contact_id]
        return pb.RoomDelResponse()

    async def _rpc_MessageImage(self, request: pb.MessageImageRequest) -> Any:
        self._get(self.messages, request.id, "message")
        return pb.MessageImageResponse(filebox=self._get(self.images, request.id, "image of message"))

    async def _rpc_RoomCreate(self, request: pb.RoomCreateRequest) -> Any:
        room_id = self.next_id("room")
        self.add_room(room_id, request.topic, list(request.contact_ids))
        return pb.RoomCreateResponse(id=room_id)

    async def _rpc_FriendshipAccept(self, request: pb.FriendshipAcceptRequest) -> Any:
        friendship = self._get(self.friendships, request.id, "friendship")
        friendship.type = pb.FriendshipType.FRIENDSHIP_TYPE_CONFIRM
        self.contacts[friendship.contact_id].friend = True
        return pb.FriendshipAcceptResponse()

    async def _rpc_RoomInvitationAccept(self, request: pb.RoomInvitationAcceptRequest) -> Any:
        invitation = self._get(self.invitations, request.id, "room invitation")
        self.accepted_invitations.append(request.id)
        if (room := self.invitation_rooms.pop(request.id, None)) is not None:
            self.join(room, [self.self_id], invitation.inviter_id)
        return pb.RoomInvitationAcceptResponse()

    async def _rpc_Ding(self, request: pb.DingRequest) -> Any:
        self.push(EventType.EVENT_TYPE_DONG, {"data": request.data})
        return pb.DingResponse()

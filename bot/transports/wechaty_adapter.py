"""The ``wechaty`` transport: python-wechaty 0.10.7 over a puppet service (gRPC).

Every workaround the library needs lives in this module, each with its reason (the facts are in
WECHATY.md beside DESIGN.md). wechaty is imported lazily, on ``start()``: the rest of the bot
imports without it (``pip install '.[wechaty]'``). It needs ``pyee<9`` and ``urllib3<2`` (pinned
in the ``wechaty`` extra) and Python 3.11/3.12: the library imports ``telnetlib``, gone in 3.13.

Shape: a supervisor task runs one ``Wechaty`` client at a time and starts a new one, with jittered
backoff, whenever the event stream ends or fails. Events are taken from the puppet in stream
order, loaded concurrently, handed on in that same order to one worker per conversation (room or
private chat): a conversation's events reach the sink in order, conversations run side by side,
and idle workers go away. A slow load holds up the hand-on for everyone (bounded by
``call_timeout``): the conversation a message belongs to is only known once it is loaded.

This module is longer than the ~400 lines the project aims for (~670): the shims must all live
here (DESIGN.md), and the supervisor, the ordering and the error mapping are wechaty's alone.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import functools
import logging
import os
import random
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from bot.config import MAX_ROOM_MEMBERS
from bot.transport import (
    Event,
    EventSink,
    FriendRequest,
    Message,
    NeedInvite,
    Refused,
    RoomFull,
    RoomInvitation,
    RoomJoin,
    RoomLeave,
    TransportError,
    TransportStatus,
    UnknownTarget,
)

log = logging.getLogger(__name__)

ENV_ENDPOINT = "WECHATY_PUPPET_SERVICE_ENDPOINT"
ENV_TOKEN = "WECHATY_PUPPET_SERVICE_TOKEN"
# The client sends the token as the gRPC :authority even when an endpoint is given, and None fails
# there (inside Wechaty.start(), which swallows it): any string does.
PLACEHOLDER_TOKEN = "distbot"
DIRECT_ADD_LIMIT = 40  # above this many members WeChat turns an add into an invitation
SEEN_IDS = 100_000  # message ids remembered to drop repeats, as the library's own container does
# Events taken from the puppet in stream order instead of Wechaty's bridge (see _Bot below).
TAKEN_EVENTS = ("message", "friendship", "room-join", "room-leave", "room-invite", "login", "logout")


# Set around each send: the puppet wrapper records the id the service returned, so a failure in
# what say() does *after* sending (reading the message back) is not mistaken for a failed send.
_SENT: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("wechaty_sent", default=None)


def _record_sent(message_id: str | None) -> None:
    box = _SENT.get()
    if box is not None:
        box.append(message_id or "")


@functools.cache
def _library() -> SimpleNamespace:
    """Import wechaty once, with the shims that must precede or patch the import."""
    # Importing wechaty creates its cache dir (default ./.wechaty, in whatever the working
    # directory is): keep it out of the project. Its loggers print every message text at INFO to
    # stderr, outside our logging (and unmasked): errors only unless WECHATY_LOG says otherwise.
    os.environ.setdefault("CACHE_DIR", os.path.join(tempfile.gettempdir(), "distbot-wechaty"))
    os.environ.setdefault("WECHATY_LOG", "error")
    with warnings.catch_warnings():
        # wechaty_puppet_service.utils and wechaty.plugin import telnetlib at import time, which
        # warns on 3.11+. Only that warning is silenced, only around this import.
        warnings.filterwarnings("ignore", message="'telnetlib' is deprecated", category=DeprecationWarning)
        from wechaty_puppet.schemas.puppet import PuppetOptions

        # WechatyOptions uses a PuppetOptions() instance as a dataclass default; Python 3.11
        # rejects unhashable defaults ("mutable default"), so `import wechaty` fails without this.
        PuppetOptions.__hash__ = object.__hash__  # type: ignore[assignment]
        import wechaty
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from grpclib.client import Channel
        from grpclib.const import Status
        from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError
        from wechaty.exceptions import WechatyOperationError
        from wechaty.user.room_invitation import RoomInvitation as WxRoomInvitation
        from wechaty_grpc.wechaty import PuppetStub
        from wechaty_puppet import FileBox, FriendshipType, MessageType
        from wechaty_puppet.exceptions import WechatyPuppetError
        from wechaty_puppet_service import PuppetService
        from wechaty_puppet_service.utils import extract_host_and_port

    # RoomInvitation.load() builds the base class, which has no puppet ("puppet not set" from
    # inviter()/topic()/accept()): build whichever bound subclass it is called on.
    WxRoomInvitation.load = classmethod(lambda cls, invitation_id: cls(invitation_id))  # type: ignore[assignment]

    # FileBox.mimeType calls the deprecated Logger.warn, and to_json_str() reads every property:
    # each image send raised a DeprecationWarning (an error under -W error and in our tests).
    def _media_type(box: Any) -> Any:
        return box.mediaType

    def _set_media_type(box: Any, value: Any) -> None:
        box.mediaType = value

    FileBox.mimeType = property(_media_type, _set_media_type)  # type: ignore[assignment]

    class _Puppet(PuppetService):  # type: ignore[misc]
        def _init_puppet(self) -> None:
            # The original probes the endpoint with a blocking telnet connect (up to 3 s with the
            # event loop stalled) and, without an endpoint, asks api.chatie.io over blocking
            # requests. start() probes asynchronously instead; an endpoint is required.
            host, port = extract_host_and_port(self.options.end_point)
            self.channel = Channel(host=host, port=port)
            self.channel._authority = self.options.token  # as the original: the token routes the call
            self._puppet_stub = PuppetStub(self.channel)

        async def start(self) -> None:
            host, port = extract_host_and_port(self.options.end_point)
            async with asyncio.timeout(5):
                _, writer = await asyncio.open_connection(host, port)
            writer.close()
            await writer.wait_closed()
            await super().start()  # Stop, Start, then the Event stream until it ends

        async def close(self, *, send_stop: bool) -> None:
            # PuppetService.stop() skips closing the channel when the Stop call fails (a dead
            # server), leaking the connection; and a reconnect should not stop the service's puppet.
            self._event_stream.remove_all_listeners()
            stub, self._puppet_stub = self._puppet_stub, None
            try:
                if stub is not None and send_stop:
                    async with asyncio.timeout(3):
                        await stub.stop()
            except Exception as exc:
                log.debug("wechaty: Stop call failed: %r", exc)
            finally:
                if self.channel is not None:
                    self.channel.close()
                    self.channel = None

        async def stop(self) -> None:
            await self.close(send_stop=True)

        async def room_invitation_payload(self, room_invitation_id: str, payload: Any = None) -> Any:
            # The original feeds response.to_dict() (camelCase keys) into the snake_case payload
            # class and raises TypeError. That class *is* the response type: return it as is.
            return await self.puppet_stub.room_invitation_payload(id=room_invitation_id)

        async def message_send_text(self, conversation_id: str, message: str, mention_ids: Any = None) -> str:
            message_id = await super().message_send_text(conversation_id, message, mention_ids)
            _record_sent(message_id)
            return message_id

        async def message_send_file(self, conversation_id: str, file: Any) -> str:
            message_id = await super().message_send_file(conversation_id, file)
            _record_sent(message_id)
            return message_id

        async def room_create(self, contact_ids: list[str], topic: str | None = None) -> str:
            room_id = await super().room_create(contact_ids, topic)
            _record_sent(room_id)
            return room_id

    class _Bot(wechaty.Wechaty):  # type: ignore[misc]
        def __init__(self, options: Any, intake: Callable[[Any, str, Any], None]) -> None:
            super().__init__(options)
            self._intake = intake

        async def start(self) -> None:
            # Wechaty.start() prints and swallows any error, and after a network error sleeps 60 s
            # and restarts itself recursively. The adapter supervises: let errors out. Returns when
            # the event stream ends.
            await self.init_puppet()
            await self.init_puppet_event_bridge(self.puppet)
            await self.puppet.start()

        async def init_puppet(self) -> None:
            await super().init_puppet()
            # Contact/Room caches are class attributes of the base classes, shared by every bot:
            # after a reconnect they would hand out objects bound to the stopped puppet.
            for cls in (self.Contact, self.ContactSelf, self.Room):
                cls._pool = {}

        async def init_puppet_event_bridge(self, puppet: Any) -> None:
            await super().init_puppet_event_bridge(puppet)
            # The bridge handles every event in its own task, so two messages of one chat can
            # reach us out of order; its login handler runs once per client and starts the plugin
            # manager (which wants local port 5000 free and starts a scheduler) though we use no
            # plugins. Take these events synchronously, in stream order, instead.
            for name in TAKEN_EVENTS:
                puppet._event_stream.remove_all_listeners(name)
                puppet.on(name, functools.partial(self._intake, self, name))

    return SimpleNamespace(
        Bot=_Bot,
        Puppet=_Puppet,
        PuppetOptions=PuppetOptions,
        WechatyOptions=wechaty.WechatyOptions,
        AsyncIOScheduler=AsyncIOScheduler,
        FileBox=FileBox,
        FriendshipType=FriendshipType,
        MessageType=MessageType,
        GRPCError=GRPCError,
        Status=Status,
        permanent={
            Status.INVALID_ARGUMENT,
            Status.FAILED_PRECONDITION,
            Status.PERMISSION_DENIED,
            Status.ALREADY_EXISTS,
            Status.UNIMPLEMENTED,
        },
        network_errors=(OSError, asyncio.TimeoutError, StreamTerminatedError, ProtocolError, WechatyPuppetError),
        OperationError=WechatyOperationError,
    )


def _at(timestamp: float | int | None) -> datetime:
    """Puppet timestamps come in seconds or milliseconds (as wechaty's timestamp_to_date reads them)."""
    if not timestamp:
        return datetime.now(UTC)
    seconds = timestamp / 1000 if timestamp > 2_145_888_000 else timestamp
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class _Conversation:
    queue: asyncio.Queue[Event]
    worker: asyncio.Task[None]


class WechatyTransport:
    """bot.transport.Transport over a wechaty puppet service."""

    name = "wechaty"

    def __init__(
        self,
        endpoint: str | None = None,
        token: str | None = None,
        *,
        backoff: tuple[float, float] = (1.0, 30.0),
        idle_after: float = 60.0,
        call_timeout: float = 15.0,
        drain_timeout: float = 5.0,
        max_loading: int = 32,
        rng: random.Random | None = None,
        account: str | None = None,
    ) -> None:
        self.endpoint = endpoint or os.environ.get(ENV_ENDPOINT) or ""
        if not self.endpoint:
            raise ValueError(f"the wechaty transport needs a puppet service endpoint: set {ENV_ENDPOINT}")
        self.token = token or os.environ.get(ENV_TOKEN) or PLACEHOLDER_TOKEN
        # The logical helper account this process sends as (outbox rows name it); the WeChat
        # id the puppet logs in as is self_id. Several helper accounts share one database.
        self.account = account or os.environ.get("DISTBOT_HELPER_ACCOUNT") or "helper"
        self.self_id = ""
        self._backoff = backoff
        self._idle_after = idle_after
        self._call_timeout = call_timeout
        self._drain_timeout = drain_timeout
        self._rng = rng or random.Random()
        self._loading = asyncio.Semaphore(max_loading)
        self._sink: EventSink | None = None
        self._bot: Any = None
        self._logged_in = asyncio.Event()
        self._accepting = False
        self._intake: asyncio.Queue[asyncio.Task[Event | None]] = asyncio.Queue()
        self._conversations: dict[str, _Conversation] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._tasks: list[asyncio.Task[None]] = []
        self.reconnects = 0
        self.last_error: str | None = None
        self.scan: str | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self, sink: EventSink) -> None:
        if self._tasks:
            raise RuntimeError("the wechaty transport is started already")
        _library()
        self._sink = sink
        self._accepting = True
        self._tasks = [
            asyncio.create_task(self._route(), name="wechaty-route"),
            asyncio.create_task(self._supervise(), name="wechaty-supervise"),
        ]

    async def wait_logged_in(self, timeout: float | None = None) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self._logged_in.wait()
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        """Let the events already received reach the sink (bounded), then disconnect."""
        if not self._tasks:
            return
        self._accepting = False
        try:
            async with asyncio.timeout(self._drain_timeout):
                await self._intake.join()
                for conversation in list(self._conversations.values()):
                    await conversation.queue.join()
        except TimeoutError:
            log.warning("wechaty: stopping with events not handled (drain took over %ss)", self._drain_timeout)
        route, supervise = self._tasks
        pending = [route, *(c.worker for c in self._conversations.values())]
        while not self._intake.empty():
            pending.append(self._intake.get_nowait())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._conversations.clear()
        supervise.cancel()  # its cleanup sends Stop and closes the channel
        await asyncio.gather(supervise, return_exceptions=True)
        self._tasks, self._intake = [], asyncio.Queue()

    def status(self) -> TransportStatus:
        detail: dict[str, Any] = {
            "endpoint": self.endpoint,
            "wechat_id": self.self_id,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
            "conversations": len(self._conversations),
            "loading": self._intake.qsize(),  # received, not yet handed to a conversation
            "queued": sum(c.queue.qsize() for c in self._conversations.values()),
        }
        if self.scan:
            detail["scan"] = self.scan
        return TransportStatus(self.name, self.account, self._logged_in.is_set(), detail)

    async def _supervise(self) -> None:
        """Run one client at a time; start a new one whenever the event stream ends or fails."""
        first, ceiling = self._backoff
        delay = first
        while True:
            bot = None
            try:
                bot = self._new_bot()
                self._bot = bot
                await bot.start()
                error = "the puppet service closed the event stream"
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            finally:
                self._bot = None
                self._logged_in.clear()
                if bot is not None:
                    # Stop the service's puppet only when we stop, not to reconnect.
                    await bot.puppet.close(send_stop=not self._accepting)
            if bot is not None and bot.puppet.login_user_id:
                delay = first  # it was up: start the backoff over
            self.reconnects += 1
            self.last_error = error
            wait = delay * self._rng.uniform(0.8, 1.2)
            log.warning("wechaty: disconnected (%s); reconnect %d in %.1fs", error, self.reconnects, wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, ceiling)

    def _new_bot(self) -> Any:
        lib = _library()
        options = lib.PuppetOptions()
        options.end_point, options.token = self.endpoint, self.token
        # Always pass puppet_options: the dataclass default is one instance shared by all.
        # An in-memory scheduler keeps the plugin manager from building a SQLite job store.
        wechaty_options = lib.WechatyOptions(
            puppet=lib.Puppet(options), puppet_options=options, scheduler=lib.AsyncIOScheduler()
        )
        bot = lib.Bot(wechaty_options, self._on_puppet_event)
        # Without an `error` listener pyee raises on the ERROR event (its payload is not an
        # exception); failures inside the library's own handlers arrive here too.
        bot.on("error", self._on_error)
        bot.on("scan", self._on_scan)
        return bot

    def _on_error(self, payload: Any) -> None:
        log.warning("wechaty: error event: %s", getattr(payload, "data", payload))

    def _on_scan(self, qrcode: str, status: Any, data: Any = None) -> None:
        self.scan = f"https://wechaty.js.org/qrcode/{qrcode}" if qrcode else None
        log.warning("wechaty: the puppet asks for a QR scan (%s): %s", status, self.scan)

    # -- events in --------------------------------------------------------------------------

    def _on_puppet_event(self, bot: Any, name: str, payload: Any) -> None:
        """Runs synchronously for each event, in stream order."""
        if name == "login":
            self.self_id, self.scan = payload.contact_id, None
            bot.contact_id = payload.contact_id  # the bridge's handler set it; Wechaty.__str__ reads it
            self._logged_in.set()
            log.info("wechaty: logged in as %s (helper account %s)", self.self_id, self.account)
            return
        if name == "logout":
            self._logged_in.clear()
            log.warning("wechaty: logged out (%s)", getattr(payload, "data", ""))
            return
        if not self._accepting:
            log.info("wechaty: stopping, %s event dropped", name)
            return
        if name == "message":
            if payload.message_id in self._seen:
                return  # the puppet repeats itself sometimes; message ids are unique
            self._seen[payload.message_id] = None
            if len(self._seen) > SEEN_IDS:
                self._seen.popitem(last=False)
        self._intake.put_nowait(asyncio.create_task(self._load(bot, name, payload)))

    async def _load(self, bot: Any, name: str, payload: Any) -> Event | None:
        async with self._loading, asyncio.timeout(self._call_timeout):
            if name == "message":
                return await self._message(bot, payload.message_id)
            if name == "friendship":
                return await self._friend_request(bot, payload.friendship_id)
            if name == "room-invite":
                return await self._invitation(bot, payload.room_invitation_id)
            if name == "room-join":
                inviter = payload.inviter_id or None
                return RoomJoin(payload.room_id, tuple(payload.invited_ids), _at(payload.timestamp), inviter)
            return RoomLeave(payload.room_id, tuple(payload.removed_ids), _at(payload.timestamp))

    async def _message(self, bot: Any, message_id: str) -> Message | None:
        types = _library().MessageType
        msg = bot.Message.load(message_id)
        await msg.ready()  # MessagePayload, then the talker's ContactPayload (cached per client)
        payload = msg.payload
        if payload.from_id == self.self_id:
            return None  # the helper's own messages come back as events
        kind = {types.MESSAGE_TYPE_TEXT: "text", types.MESSAGE_TYPE_IMAGE: "image"}.get(msg.type())
        if kind is None:
            log.info("wechaty: %s message %s ignored", msg.type().name, message_id)
            return None
        room = msg.room()
        mentions = tuple(payload.mention_ids or ())
        return Message(
            id=message_id,
            sender=payload.from_id,
            sender_name=msg.talker().name,
            text=msg.text(),
            at=_at(payload.timestamp),
            room=room.room_id if room is not None else None,
            kind=kind,
            mentions=mentions,
            mentions_self=bool(self.self_id) and self.self_id in mentions,  # what mention_self() reads
        )

    async def _friend_request(self, bot: Any, friendship_id: str) -> FriendRequest | None:
        friendship = bot.Friendship.load(friendship_id)
        await friendship.ready()
        if friendship.type() != _library().FriendshipType.FRIENDSHIP_TYPE_RECEIVE:
            log.info("wechaty: friendship %s is %s, not a request", friendship_id, friendship.type().name)
            return None
        contact = friendship.contact()
        await contact.ready()
        return FriendRequest(friendship_id, contact.contact_id, contact.name, friendship.hello(), datetime.now(UTC))

    async def _invitation(self, bot: Any, invitation_id: str) -> RoomInvitation:
        invitation = bot.RoomInvitation.load(invitation_id)  # the load shim: bound to this client
        inviter = await invitation.inviter()  # each accessor reads RoomInvitationPayload again
        topic, count = await invitation.topic(), await invitation.member_count()
        # A puppet service's invitation names no room: the room id arrives with the ROOM_JOIN
        # that follows accept_room_invitation().
        return RoomInvitation(invitation_id, "", topic, inviter.contact_id, datetime.now(UTC), count)

    async def _route(self) -> None:
        """Hand loaded events on in stream order, each to its conversation's worker."""
        while True:
            task = await self._intake.get()
            try:
                event = await task
            except Exception as exc:
                log.warning("wechaty: an event could not be loaded, dropped: %r", exc)
                event = None
            if event is not None:
                self._dispatch(event)
            self._intake.task_done()

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, Message):
            key = f"room:{event.room}" if event.room else f"dm:{event.sender}"
        elif isinstance(event, FriendRequest):
            key = f"dm:{event.contact}"
        elif isinstance(event, RoomInvitation):
            key = f"dm:{event.inviter}"
        else:
            key = f"room:{event.room}"
        conversation = self._conversations.get(key)
        if conversation is None:
            queue: asyncio.Queue[Event] = asyncio.Queue()
            worker = asyncio.create_task(self._work(key, queue), name=f"wechaty-{key}")
            conversation = self._conversations[key] = _Conversation(queue, worker)
        conversation.queue.put_nowait(event)

    async def _work(self, key: str, queue: asyncio.Queue[Event]) -> None:
        assert self._sink is not None
        while True:
            try:
                async with asyncio.timeout(self._idle_after):
                    event = await queue.get()
            except TimeoutError:
                if queue.empty():  # nothing can arrive between this check and the removal
                    del self._conversations[key]
                    return
                continue
            try:
                await self._sink(event)
            except Exception:
                log.exception("wechaty: the sink failed on %s", type(event).__name__)
            finally:
                queue.task_done()

    # -- sends ------------------------------------------------------------------------------

    async def _call(self, action: str, target: str, go: Callable[[Any], Awaitable[Any]]) -> Any:
        bot = self._bot
        if bot is None or not self._logged_in.is_set():
            raise TransportError(f"{action} {target}: not connected to the puppet service")
        sent: list[str] = []
        reset = _SENT.set(sent)
        try:
            async with asyncio.timeout(self._call_timeout):
                return await go(bot)
        except Exception as exc:
            if sent:  # the service took it; only reading the result back failed
                log.warning("wechaty: %s %s went out as %r; reading it back failed: %r", action, target, sent[0], exc)
                return SimpleNamespace(message_id=sent[0], room_id=sent[0])
            raise _translate(exc, f"{action} {target}") from exc
        finally:
            _SENT.reset(reset)

    async def _say(self, action: str, target: str, room: bool, what: Any, mentions: Sequence[str] = ()) -> str:
        async def go(bot: Any) -> Any:
            if room:
                chat = bot.Room.load(target)
                await chat.ready()  # RoomPayload: an unknown room fails here, before anything is sent
                # say() prefixes "@Name " per mention and sends the ids (proto field `mentonal_ids`)
                return await chat.say(what, mention_ids=list(mentions) or None)
            return await bot.Contact.load(target).say(what)

        sent = await self._call(action, target, go)
        return sent.message_id if sent is not None else ""

    async def send_text(
        self, target: str, text: str, *, room: bool, mentions: Sequence[str] = (), ref: str | None = None
    ) -> str:
        return await self._say("send_text", target, room, text, mentions)

    async def send_image(self, target: str, image: bytes, *, room: bool, name: str, ref: str | None = None) -> str:
        box = _library().FileBox.from_base64(base64.b64encode(image), name=name)
        return await self._say("send_image", target, room, box)

    async def _members(self, bot: Any, room: str) -> list[str]:
        # One RoomMemberList call, fresh each time: Room.ready() keeps a cached payload, and
        # member_list() would also load a ContactPayload per member just to return their ids.
        members = list(await bot.puppet.room_members(room))
        if not members and not (await bot.puppet.room_payload(room)).id:
            raise UnknownTarget(f"no room {room!r}")
        return members

    async def _add(self, room: str, contact: str, *, direct: bool) -> None:
        async def go(bot: Any) -> None:
            members = await self._members(bot, room)
            if contact in members:
                return  # a resend of an add that went through
            if len(members) >= MAX_ROOM_MEMBERS:
                raise RoomFull(f"room {room} holds {len(members)} members")
            if direct and len(members) > DIRECT_ADD_LIMIT:
                raise NeedInvite(f"room {room} has {len(members)} members (over {DIRECT_ADD_LIMIT}): invite")
            chat = bot.Room.load(room)
            await chat.ready()
            await chat.add(bot.Contact.load(contact))  # RoomAdd{id, contactId}

        await self._call("add_to_room" if direct else "invite_to_room", f"{room}/{contact}", go)

    async def add_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        await self._add(room, contact, direct=True)

    async def invite_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        """python-wechaty has no invitation call: this is room.add(), which the puppet turns into
        an invitation card when the room has more than 40 members."""
        await self._add(room, contact, direct=False)

    async def room_members(self, room: str) -> list[str]:
        return await self._call("room_members", room, lambda bot: self._members(bot, room))

    async def accept_friend(self, request_id: str) -> None:
        async def go(bot: Any) -> None:
            friendship = bot.Friendship.load(request_id)
            await friendship.ready()
            if not friendship.payload.contact_id:
                raise UnknownTarget(f"no friend request {request_id!r}")
            if friendship.type() == _library().FriendshipType.FRIENDSHIP_TYPE_CONFIRM:
                return  # accepted already: a resend
            await friendship.accept()  # FriendshipAccept; refuses anything but a received request

        await self._call("accept_friend", request_id, go)

    async def accept_room_invitation(self, invitation_id: str) -> None:
        # Not RoomInvitation.accept(): after accepting it reads the invitation twice more, and a
        # failure there (the service may drop an accepted invitation) would make the outbox accept
        # again. One RoomInvitationAccept call.
        await self._call(
            "accept_room_invitation", invitation_id, lambda bot: bot.puppet.room_invitation_accept(invitation_id)
        )

    async def create_room(self, topic: str, members: Sequence[str]) -> str | None:
        if len(members) < 2:
            raise Refused("WeChat creates a room with at least two other members")
        lib = _library()

        async def go(bot: Any) -> Any:
            return await bot.Room.create([bot.Contact.load(m) for m in members], topic)

        try:
            created = await self._call("create_room", topic, go)
        except TransportError as exc:
            grpc = _grpc_error(exc)
            if grpc is not None and grpc.status == lib.Status.UNIMPLEMENTED:
                return None  # this puppet cannot create rooms
            raise
        return created.room_id or None


def _cause(exc: BaseException, kinds: type[BaseException] | tuple[type[BaseException], ...]) -> Any:
    """The error of ``kinds`` behind ``exc``: Room.create() and friends re-raise it wrapped."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _grpc_error(exc: BaseException) -> Any:
    return _cause(exc, _library().GRPCError)


def _translate(exc: Exception, what: str) -> TransportError:
    """Map a wechaty/gRPC failure onto the transport errors the outbox understands."""
    if isinstance(exc, TransportError):
        return exc
    lib = _library()
    grpc = _grpc_error(exc)
    if grpc is not None:
        text = f"{grpc.message or ''} {grpc.details or ''}".lower()
        if grpc.status == lib.Status.NOT_FOUND:
            return UnknownTarget(f"{what}: {grpc.message}")
        if "invit" in text or "邀请" in text:
            return NeedInvite(f"{what}: {grpc.message}")
        if "full" in text or "已满" in text:
            return RoomFull(f"{what}: {grpc.message}")
        if grpc.status in lib.permanent:
            return Refused(f"{what}: {grpc.status.name} {grpc.message}")
        return TransportError(f"{what}: {grpc.status.name} {grpc.message}")
    if isinstance(exc, lib.OperationError) and _cause(exc, lib.network_errors) is None:
        return Refused(f"{what}: {exc}")
    return TransportError(f"{what}: {type(exc).__name__}: {exc}")  # network, timeouts, …: worth another try

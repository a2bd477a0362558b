"""The ``wechaty`` transport: python-wechaty 0.10.7 over a puppet service (gRPC).

Every workaround the library needs lives in this module, each with its reason (the facts are in
WECHATY.md beside DESIGN.md). wechaty is imported lazily, on ``start()``: the rest of the bot
imports without it (``pip install '.[wechaty]'``). It needs ``pyee<9`` and ``urllib3<2`` (pinned
in the ``wechaty`` extra) and Python 3.11/3.12: the library imports ``telnetlib``, gone in 3.13.

Shape: a supervisor task runs one ``Wechaty`` client at a time and starts a new one, with jittered
backoff, whenever the event stream ends or fails, or the service falls silent: a watchdog hears
every event of the stream (the service's heartbeats included), probes with ``ding`` when it has
heard nothing for a while and reconnects when even that gets no answer. A reconnect sends only
``Start`` (never ``Stop``, which restarts the service's WeChat puppet). Sends are refused as
``NotConnected`` (nothing sent, nothing counted) unless connected, logged in and heard from;
``ready()`` waits for that. A send the service took but did not answer in time is ``Uncertain``.

Events are taken from the puppet in stream order and loaded concurrently (lookups of one payload
in flight at the same time are merged into one call); ``bot.transports.ordered`` hands them on in
that same order, one worker per conversation.

This module is longer than the ~400 lines the project aims for: the shims must all live here
(DESIGN.md), and the supervisor, watchdog and error mapping are wechaty's alone.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import importlib.util
import logging
import os
import random
import tempfile
import time
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlsplit

from bot.base.config import MAX_ROOM_MEMBERS, OutboxSettings, RateLimits
from bot.base.transport import (
    WECHAT,
    Capabilities,
    Event,
    EventSink,
    FriendRequest,
    Message,
    NeedInvite,
    NotConnected,
    PersonalWeChat,
    Refused,
    RoomFull,
    RoomInvitation,
    RoomJoin,
    RoomLeave,
    TransportError,
    TransportStatus,
    Uncertain,
    UnknownTarget,
    Unsupported,
    WebRoute,
)
from bot.transports.file_box import file_box_bytes
from bot.transports.ordered import OrderedDelivery

log = logging.getLogger(__name__)

ENV_ENDPOINT = "WECHATY_PUPPET_SERVICE_ENDPOINT"
ENV_TOKEN = "WECHATY_PUPPET_SERVICE_TOKEN"
QR_PAGE = "https://wechaty.js.org/qrcode/"  # renders a login QR code from the text in its path
DIRECT_ADD_LIMIT = WECHAT.direct_add_limit  # above this many members WeChat turns an add into an invitation
SEEN_IDS = 100_000  # message ids remembered to drop repeats, as the library's own container does
# Events taken from the puppet in stream order instead of Wechaty's bridge (see _Bot below).
TAKEN_EVENTS = ("message", "friendship", "room-join", "room-leave", "room-invite", "login", "logout", "scan")


@dataclass
class _Handover:
    """One send as the puppet wrapper saw it: whether the call that acts (send, accept, create)
    was made, and the id the service returned for it."""

    acted: bool = False
    ids: list[str] = field(default_factory=list)


# Set around each send, so that a failure in what say() does *after* sending (reading the
# message back) is not mistaken for a failed send, and a timeout after the acting call went out
# is told apart from one before it.
_HANDOVER: ContextVar[_Handover | None] = ContextVar("wechaty_handover", default=None)


async def _acting(call: Awaitable[Any]) -> Any:
    handover = _HANDOVER.get()
    if handover is not None:
        handover.acted = True
    result = await call
    if handover is not None:
        handover.ids.append(str(result or ""))
    return result


def endpoint_address(endpoint: str) -> tuple[str, int]:
    """(host, port) of a puppet service endpoint, read as the library reads it (``host:port``; a
    bare host is port 80). Anything else is refused here, at start, with what to set."""
    url = endpoint if endpoint.startswith(("http://", "https://")) else f"http://{endpoint}"
    try:
        split = urlsplit(url)
        host, port = split.hostname, split.port
    except ValueError:
        host, port = None, None
    if not host or any(c.isspace() for c in endpoint) or split.path.strip("/") or split.query:
        raise ValueError(
            f"{ENV_ENDPOINT}={endpoint!r} is not a puppet service address: give host:port, e.g. 127.0.0.1:8788"
        )
    return host, port or (443 if split.scheme == "https" else 80)


def _quiet_library_loggers(before: set[str]) -> None:
    """wechaty's loggers (created at import) print to stderr on their own handlers, outside our
    logging: send them through ours (their level stays WECHATY_LOG's, errors by default)."""
    for name in set(logging.root.manager.loggerDict) - before:
        logger = logging.getLogger(name)
        if not logger.propagate:
            logger.handlers, logger.propagate = [], True


@functools.cache
def _library() -> SimpleNamespace:
    """Import wechaty once, with the shims that must precede or patch the import."""
    # Importing wechaty creates its cache dir (default ./.wechaty, in whatever the working
    # directory is): keep it out of the project. Its loggers print every message text at INFO to
    # stderr, outside our logging (and unmasked): errors only unless WECHATY_LOG says otherwise.
    os.environ.setdefault("CACHE_DIR", os.path.join(tempfile.gettempdir(), "distbot-wechaty"))
    os.environ.setdefault("WECHATY_LOG", "error")
    loggers = set(logging.root.manager.loggerDict)
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
        from wechaty_grpc.wechaty.puppet import ImageType
        from wechaty_puppet import FileBox, FriendshipType, MessageType
        from wechaty_puppet.exceptions import WechatyPuppetError
        from wechaty_puppet_service import PuppetService
        from wechaty_puppet_service.utils import extract_host_and_port
    _quiet_library_loggers(loggers)

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
        def __init__(
            self, options: Any, *, call_timeout: float, heard: Callable[[], None], started: Callable[[], None]
        ) -> None:
            super().__init__(options)
            self.call_timeout = call_timeout
            self.heard, self.started = heard, started
            self.inflight: dict[tuple[str, str], asyncio.Future[Any]] = {}

        def _init_puppet(self) -> None:
            # The original probes the endpoint with a blocking telnet connect (up to 3 s with the
            # event loop stalled) and, without an endpoint, asks api.chatie.io over blocking
            # requests. start() probes asynchronously instead; an endpoint is required.
            host, port = extract_host_and_port(self.options.end_point)
            self.channel = Channel(host=host, port=port)
            self.channel._authority = self.options.token  # as the original: the token routes the call
            stub = self._puppet_stub = PuppetStub(self.channel)
            # The library drops HEARTBEAT events (they never reach the Wechaty layer) and has no
            # watchdog: every response of the event stream is a sign of life, heard here.
            events = stub.event

            async def heard_events() -> AsyncIterator[Any]:
                async for response in events():
                    self.heard()
                    yield response

            stub.event = heard_events

        async def start(self) -> None:
            # The original sends Stop, then Start, with no timeout on either: on the TypeScript
            # service Stop restarts the WeChat puppet, so every reconnect (a network glitch) did,
            # and a hung service hung start() for good — even when cancelled, as its `finally`
            # sends Start. Start alone is what a (re)connect needs: a started puppet stays as it
            # is and a new Event stream is told the login state.
            host, port = extract_host_and_port(self.options.end_point)
            async with asyncio.timeout(self.call_timeout):
                _, writer = await asyncio.open_connection(host, port)
            writer.close()
            await writer.wait_closed()
            self._init_puppet()
            async with asyncio.timeout(self.call_timeout):
                await self.puppet_stub.start()
            self.started()
            await self._listen_for_event()  # until the stream ends

        async def close(self, *, send_stop: bool) -> None:
            # PuppetService.stop() skips closing the channel when the Stop call fails (a dead
            # server), leaking the connection; and a reconnect should not stop the service's puppet.
            self._event_stream.remove_all_listeners()
            stub, self._puppet_stub = self._puppet_stub, None
            try:
                if stub is not None and send_stop:  # on the way out: a courtesy, not worth a long wait
                    async with asyncio.timeout(min(self.call_timeout, 3.0)):
                        await stub.stop()
            except Exception as exc:
                log.debug("wechaty: Stop call failed: %r", exc)
            finally:
                if self.channel is not None:
                    self.channel.close()
                    self.channel = None

        async def stop(self) -> None:
            await self.close(send_stop=True)

        def _merged(self, kind: str, key: str, fetch: Callable[[], Awaitable[Any]]) -> Awaitable[Any]:
            # Contact.ready() and friends fetch whenever they hold no payload yet, so events loaded
            # side by side fetched the same payload once each (the helper's own contact five times
            # for five DMs arriving together): concurrent lookups of one payload share one call.
            task = self.inflight.get((kind, key))
            if task is None:

                async def bounded() -> Any:
                    async with asyncio.timeout(self.call_timeout):
                        return await fetch()

                task = self.inflight[(kind, key)] = asyncio.ensure_future(bounded())
                task.add_done_callback(functools.partial(self._landed, (kind, key)))
            return asyncio.shield(task)  # a caller giving up does not cancel it for the others

        def _landed(self, key: tuple[str, str], task: asyncio.Future[Any]) -> None:
            if self.inflight.get(key) is task:
                del self.inflight[key]
            if not task.cancelled():
                task.exception()  # retrieved: every caller may have given up on it

        async def contact_payload(self, contact_id: str) -> Any:
            fetch = super().contact_payload
            return await self._merged("contact", contact_id, lambda: fetch(contact_id))

        async def room_payload(self, room_id: str) -> Any:
            fetch = super().room_payload
            return await self._merged("room", room_id, lambda: fetch(room_id))

        async def message_payload(self, message_id: str) -> Any:
            fetch = super().message_payload
            return await self._merged("message", message_id, lambda: fetch(message_id))

        async def friendship_payload(self, friendship_id: str, payload: Any = None) -> Any:
            if payload is not None:  # a write, not a lookup
                return await super().friendship_payload(friendship_id, payload)
            fetch = super().friendship_payload
            return await self._merged("friendship", friendship_id, lambda: fetch(friendship_id))

        async def room_invitation_payload(self, room_invitation_id: str, payload: Any = None) -> Any:
            # The original feeds response.to_dict() (camelCase keys) into the snake_case payload
            # class and raises TypeError. That class *is* the response type: return it as is.
            stub = self.puppet_stub
            return await self._merged(
                "invitation", room_invitation_id, lambda: stub.room_invitation_payload(id=room_invitation_id)
            )

        # The calls that act are marked (_acting): a timeout after one went out is an unknown
        # outcome, and the id it returned means it went out whatever fails after. Adds and
        # friend accepts are not marked: the adapter reads the state before each, so a retry of
        # one that went through does nothing.
        async def message_send_text(self, conversation_id: str, message: str, mention_ids: Any = None) -> str:
            return await _acting(super().message_send_text(conversation_id, message, mention_ids))

        async def message_send_file(self, conversation_id: str, file: Any) -> str:
            return await _acting(super().message_send_file(conversation_id, file))

        async def room_create(self, contact_ids: list[str], topic: str | None = None) -> str:
            return await _acting(super().room_create(contact_ids, topic))

        async def room_invitation_accept(self, room_invitation_id: str) -> None:
            await _acting(super().room_invitation_accept(room_invitation_id))

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
            # plugins; its scan handler prints an ASCII QR code to stdout and fails in the plugin
            # manager ("internal error", logged on every SCAN). Take these events synchronously,
            # in stream order, instead.
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
        ImageType=ImageType,
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
        network_errors=(OSError, StreamTerminatedError, ProtocolError, WechatyPuppetError),
        OperationError=WechatyOperationError,
    )


def _at(timestamp: float | int | None) -> datetime:
    """Puppet timestamps come in seconds or milliseconds (as wechaty's timestamp_to_date reads them)."""
    if not timestamp:
        return datetime.now(UTC)
    seconds = timestamp / 1000 if timestamp > 2_145_888_000 else timestamp
    return datetime.fromtimestamp(seconds, UTC)


class WechatyTransport(PersonalWeChat):
    """bot.base.transport.Transport over a wechaty puppet service.

    ``call_timeout`` bounds every call to the service; ``heartbeat_timeout`` is how long the
    service may stay silent (no heartbeat, no event, no answer to the ``ding`` sent once it has
    been silent for a third of that) before the connection is given up and made again. Silent
    for two thirds of it, the service may be hung: sends pause (``can_send()`` is false).

    Capabilities: personal WeChat's, as far as a puppet service offers them — room creation
    (``RoomCreate``), removal (``RoomDel``, the helper owning the room), a received picture's bytes
    (``MessageImage``). A service answering one of these "not implemented" withdraws it for the
    rest of the run. python-wechaty has no invitation call: an invitation is ``RoomAdd``, which
    WeChat turns into a card above 40 members."""

    name = "wechaty"

    def __init__(
        self,
        endpoint: str | None = None,
        token: str | None = None,
        *,
        backoff: tuple[float, float] = (1.0, 30.0),
        idle_after: float = 60.0,
        call_timeout: float = 15.0,
        heartbeat_timeout: float = 30.0,
        drain_timeout: float = 5.0,
        max_loading: int = 32,
        rng: random.Random | None = None,
        account: str | None = None,
    ) -> None:
        self.endpoint = endpoint or os.environ.get(ENV_ENDPOINT) or ""
        if not self.endpoint:
            raise ValueError(f"no puppet service endpoint: set {ENV_ENDPOINT} (host:port)")
        endpoint_address(self.endpoint)
        # The client sends the token as the gRPC :authority, and the service answers a wrong or
        # missing one with UNAUTHENTICATED on every call: without one there is nothing to try.
        self.token = token or os.environ.get(ENV_TOKEN) or ""
        if not self.token:
            raise ValueError(f"no puppet service token: set {ENV_TOKEN} (the token the puppet service was given)")
        if importlib.util.find_spec("wechaty") is None:
            raise ImportError("python-wechaty is not installed: pip install -e '.[wechaty]'")
        # The logical helper account this process sends as (outbox rows name it); the WeChat
        # id the puppet logs in as is self_id. Several helper accounts share one database.
        self.account = account or os.environ.get("DISTBOT_HELPER_ACCOUNT") or "helper"
        self.self_id = ""
        self.capabilities: Capabilities = WECHAT
        self._backoff = backoff
        self._idle_after = idle_after
        self._max_loading = max_loading
        self._call_timeout = call_timeout
        self._heartbeat_timeout = heartbeat_timeout
        self._drain_timeout = drain_timeout
        self._rng = rng or random.Random()
        self._bot: Any = None
        self._connected = False  # Start answered and the event stream is open
        self._logged_in = asyncio.Event()
        self._quiet = False  # a ding went unanswered: the service may be hung
        self._sendable = asyncio.Event()  # connected, logged in, not quiet, not stopping
        self._heard = 0.0  # time.monotonic() of the last response on the event stream
        self._state: tuple[bool, bool] = (False, False)
        self._since: datetime | None = None
        self._accepting = False
        self._stopping = False
        self._delivery: OrderedDelivery | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._supervisor: asyncio.Task[None] | None = None
        self.reconnects = 0
        self.last_error: str | None = None
        self.scan: str | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self, sink: EventSink) -> None:
        if self._supervisor is not None:
            raise RuntimeError("the wechaty transport is started already")
        _library()
        self._delivery = OrderedDelivery(
            sink,
            load_timeout=self._call_timeout,
            idle_after=self._idle_after,
            max_loading=self._max_loading,
            describe=_describe,
        )
        self._accepting, self._stopping = True, False
        self._supervisor = asyncio.create_task(self._supervise(), name="wechaty-supervise")

    async def wait_logged_in(self, timeout: float | None = None) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self._logged_in.wait()
        except TimeoutError:
            return False
        return True

    def can_send(self) -> bool:
        return self._sendable.is_set()

    async def ready(self) -> None:
        await self._sendable.wait()

    async def stop(self) -> None:
        """Take no more events and send nothing more; let the events already received reach the
        sink (bounded), then disconnect — whatever the connection is doing: a reconnect in
        progress (or its backoff) is cancelled at once, and nothing is reconnected after."""
        supervise = self._supervisor
        if supervise is None:
            return
        self._accepting, self._stopping = False, True
        self._refresh()
        if not self._state[0]:
            supervise.cancel()  # not connected: nothing to wait for from the service
        assert self._delivery is not None
        if not await self._delivery.drain(self._drain_timeout):
            log.warning("wechaty: stopping with events not handled (drain took over %ss)", self._drain_timeout)
        await self._delivery.close()
        supervise.cancel()  # its cleanup sends Stop (if logged in) and closes the channel
        # Every step of that cleanup is bounded by call_timeout; bound the wait all the same.
        done, _ = await asyncio.wait({supervise}, timeout=self._call_timeout + self._drain_timeout)
        if not done:
            log.warning("wechaty: the connection did not close in time; left behind")
        self._supervisor, self._delivery = None, None

    def status(self) -> TransportStatus:
        connected, logged_in = self._state
        detail: dict[str, Any] = {
            "endpoint": self.endpoint,
            "wechat_id": self.self_id,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
            "can_send": self.can_send(),
            **(self._delivery.counts() if self._delivery else {"conversations": 0, "loading": 0, "queued": 0}),
        }
        if connected:
            detail["silent_for"] = round(time.monotonic() - self._heard, 1)
        if self.scan:
            detail["scan"] = self.scan
        return TransportStatus(self.name, self.account, logged_in, detail, connected=connected, since=self._since)

    def _refresh(self) -> None:
        """Bring ``since`` and ``can_send()`` in line with the connection's state."""
        state = (self._connected, self._logged_in.is_set())
        if state != self._state:
            self._state, self._since = state, datetime.now(UTC)
        if all(state) and not self._quiet and not self._stopping:
            self._sendable.set()
        else:
            self._sendable.clear()

    def _heard_from_service(self) -> None:
        self._heard = time.monotonic()
        if self._quiet:
            self._quiet = False
            log.info("wechaty: the puppet service answers again")
            self._refresh()

    def _stream_open(self) -> None:
        self._heard = time.monotonic()
        self._connected = True
        self._refresh()

    async def _supervise(self) -> None:
        """Run one client at a time; start a new one whenever the event stream ends or fails or
        the service falls silent, until stopped."""
        first, ceiling = self._backoff
        delay = first
        while not self._stopping:
            bot = self._new_bot()
            self._bot = bot
            try:
                error, refused = await self._run(bot)
            finally:
                was_up = self._logged_in.is_set()
                self._bot, self._connected, self._quiet = None, False, False
                self._logged_in.clear()
                self._refresh()
                # Stop the service's puppet only when we stop, and only a service that works.
                await bot.puppet.close(send_stop=self._stopping and was_up)
            if self._stopping:
                return
            if bot.puppet.login_user_id:
                delay = first  # it was up: start the backoff over
            self.reconnects += 1
            self.last_error = error
            wait = (ceiling if refused else delay) * self._rng.uniform(0.8, 1.2)
            level = logging.ERROR if refused else logging.WARNING
            log.log(level, "wechaty: disconnected (%s); reconnect %d in %.1fs", error, self.reconnects, wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, ceiling)

    async def _run(self, bot: Any) -> tuple[str, bool]:
        """One client until its stream ends, it fails or the watchdog gives up on the service;
        returns why, and whether the service refused us (a token it does not take)."""
        client = asyncio.create_task(bot.start(), name="wechaty-client")
        watchdog = asyncio.create_task(self._watch(bot), name="wechaty-watchdog")
        try:
            await asyncio.wait((client, watchdog), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (client, watchdog):
                task.cancel()
            await asyncio.gather(client, watchdog, return_exceptions=True)
        if not watchdog.cancelled() and watchdog.exception() is None:
            return watchdog.result(), False
        failure = None if client.cancelled() else client.exception()
        if failure is None:
            return "the puppet service closed the event stream", False
        grpc = _grpc_error(failure)
        if grpc is not None and grpc.status == _library().Status.UNAUTHENTICATED:
            return f"the puppet service refuses the token ({grpc.message}): check {ENV_TOKEN}", True
        return _describe(failure), False

    async def _watch(self, bot: Any) -> str:
        """Return (why) once the service has been silent for ``heartbeat_timeout``: no heartbeat,
        no event, no answer to the dings sent (one a third of that) once it has been silent for
        a third of it. Silent for two thirds, it may be hung: sending pauses."""
        probe_after = self._heartbeat_timeout / 3
        self._heard = time.monotonic()  # connecting counts as heard: Start is bounded by call_timeout
        probed_at = -probe_after
        probe: asyncio.Task[None] | None = None
        try:
            while True:
                await asyncio.sleep(probe_after / 4)
                now = time.monotonic()
                silent = now - self._heard
                if silent >= self._heartbeat_timeout:
                    return f"no heartbeat from the puppet service and no answer to ding for {silent:.1f} s"
                if not self._connected or silent < probe_after:
                    continue
                if now - probed_at >= probe_after and (probe is None or probe.done()):
                    probed_at, probe = now, asyncio.create_task(self._ding(bot))
                if silent >= probe_after * 2 and not self._quiet:
                    self._quiet = True
                    log.warning("wechaty: the puppet service has been silent for %.1f s; sending paused", silent)
                    self._refresh()
        finally:
            if probe is not None:
                probe.cancel()
                await asyncio.gather(probe, return_exceptions=True)

    async def _ding(self, bot: Any) -> None:
        """Ask for a sign of life: the service answers a Ding with a DONG event."""
        try:
            async with asyncio.timeout(self._call_timeout):
                await bot.puppet.ding("distbot")
        except Exception as exc:
            log.debug("wechaty: ding failed: %r", exc)

    def _new_bot(self) -> Any:
        lib = _library()
        options = lib.PuppetOptions()
        options.end_point, options.token = self.endpoint, self.token
        puppet = lib.Puppet(
            options, call_timeout=self._call_timeout, heard=self._heard_from_service, started=self._stream_open
        )
        # Always pass puppet_options: the dataclass default is one instance shared by all.
        # An in-memory scheduler keeps the plugin manager from building a SQLite job store.
        wechaty_options = lib.WechatyOptions(puppet=puppet, puppet_options=options, scheduler=lib.AsyncIOScheduler())
        bot = lib.Bot(wechaty_options, self._on_puppet_event)
        # Without an `error` listener pyee raises on the ERROR event (its payload is not an
        # exception); failures inside the library's own handlers arrive here too.
        bot.on("error", self._on_error)
        return bot

    def _on_error(self, payload: Any) -> None:
        log.warning("wechaty: error event: %s", getattr(payload, "data", payload))

    def _on_scan(self, payload: Any) -> None:
        """Say once per QR code where to scan it (the code URL-encoded into the page's path)."""
        status = getattr(payload.status, "name", payload.status)
        url = f"{QR_PAGE}{quote(payload.qrcode, safe='')}" if payload.qrcode else None
        if url and url != self.scan:
            log.warning("wechaty: the helper account must log in: scan the QR code at %s", url)
        else:
            log.info("wechaty: QR code %s", status)
        self.scan = url or self.scan

    # -- events in --------------------------------------------------------------------------

    def _on_puppet_event(self, bot: Any, name: str, payload: Any) -> None:
        """Runs synchronously for each event, in stream order."""
        if name == "login":
            self.self_id, self.scan = payload.contact_id, None
            bot.contact_id = payload.contact_id  # the bridge's handler set it; Wechaty.__str__ reads it
            self._logged_in.set()
            self._refresh()
            log.info("wechaty: logged in as %s (helper account %s)", self.self_id, self.account)
            return
        if name == "logout":
            self._logged_in.clear()
            self._refresh()
            log.warning("wechaty: logged out (%s); sending paused until the helper logs in", payload.data or "")
            return
        if name == "scan":
            self._on_scan(payload)
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
        assert self._delivery is not None
        self._delivery.submit(self._load(bot, name, payload))

    async def _load(self, bot: Any, name: str, payload: Any) -> Event | None:
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
        kind = {
            types.MESSAGE_TYPE_TEXT: "text",
            types.MESSAGE_TYPE_IMAGE: "image",
            types.MESSAGE_TYPE_CONTACT: "card",  # a business card shared (group moderation)
        }.get(msg.type())
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

    # -- sends ------------------------------------------------------------------------------

    async def _call(self, action: str, target: str, go: Callable[[Any], Awaitable[Any]]) -> Any:
        what = f"{action} {target}"
        bot = self._bot
        if bot is None or not self._sendable.is_set():
            raise NotConnected(f"{what}: {self._not_ready()}")
        handover = _Handover()
        reset = _HANDOVER.set(handover)
        try:
            async with asyncio.timeout(self._call_timeout):
                return await go(bot)
        except Exception as exc:
            if handover.ids:  # the service took it; only reading the result back failed
                sent = handover.ids[0]
                log.warning("wechaty: %s went out as %r; reading it back failed: %s", what, sent, _describe(exc))
                return SimpleNamespace(message_id=sent, room_id=sent)
            raise self._failure(exc, what, acted=handover.acted) from exc
        finally:
            _HANDOVER.reset(reset)

    def _not_ready(self) -> str:
        if self._stopping:
            return "the transport is stopping"
        if not self._connected:
            return "not connected to the puppet service (reconnecting)"
        if not self._logged_in.is_set():
            return "the helper account is not logged in on the puppet service"
        return "the puppet service is not answering (checking whether it is hung)"

    def _failure(self, exc: Exception, what: str, *, acted: bool) -> TransportError:
        """What a failed call means for the outbox: nothing sent (retry without counting, or
        with), refused for good, or an unknown outcome (the acting call went out, no answer)."""
        if isinstance(exc, TimeoutError):  # before OSError: TimeoutError is one
            waited = f"no answer from the puppet service within {self._call_timeout:g} s"
            if acted:
                return Uncertain(f"{what}: {waited}; it may or may not have gone out")
            return TransportError(f"{what}: {waited}; nothing was sent")
        if _cause(exc, ConnectionRefusedError) is not None:
            return NotConnected(f"{what}: the puppet service refuses connections")
        lib = _library()
        if acted and _grpc_error(exc) is None and _cause(exc, lib.network_errors) is not None:
            return Uncertain(f"{what}: the connection broke before the service answered ({_describe(exc)})")
        return _translate(exc, what)

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

    async def remove_from_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        self._need(self.capabilities.remove_members, "remove_members", f"remove_from_room {room}/{contact}")

        async def go(bot: Any) -> None:
            if contact not in await self._members(bot, room):
                return  # gone already, or a resend of a removal that went through
            # puppet.room_delete, not Room.delete(): that reloads the room after, and a failure
            # there would make the outbox remove again. WeChat refuses it unless the helper owns
            # the room (a permanent error: Refused).
            await bot.puppet.room_delete(room, contact)  # RoomDel{id, contactId}

        await self._call("remove_from_room", f"{room}/{contact}", go)

    async def room_members(self, room: str) -> list[str]:
        return await self._call("room_members", room, lambda bot: self._members(bot, room))

    async def image_bytes(self, message_id: str) -> bytes:
        """The HD picture of a received image message (``MessageImage``). The service answers
        with a FileBox as JSON, read here rather than by ``FileBox.from_json``, which fetches a
        URL box with blocking ``requests`` inside the event loop: a base64 box is decoded, a URL
        box fetched with aiohttp, both within the call's timeout."""
        self._need(self.capabilities.image_bytes, "image_bytes", f"image_bytes {message_id}")
        lib = _library()

        async def go(bot: Any) -> bytes:
            answer = await bot.puppet.puppet_stub.message_image(id=message_id, type=lib.ImageType.IMAGE_TYPE_HD)
            return await file_box_bytes(answer.filebox, message_id)

        try:
            return await self._call("image_bytes", message_id, go)
        except TransportError as exc:
            if self._withdraw_if_unimplemented(exc, "image_bytes"):
                raise Unsupported(f"image_bytes {message_id}: the puppet service does not implement it") from exc
            raise

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
        self._need(self.capabilities.create_rooms, "create_rooms", f"create_room {topic}")
        if len(members) < 2:
            raise Refused("WeChat creates a room with at least two other members")

        async def go(bot: Any) -> Any:
            return await bot.Room.create([bot.Contact.load(m) for m in members], topic)

        try:
            created = await self._call("create_room", topic, go)
        except TransportError as exc:
            if self._withdraw_if_unimplemented(exc, "create_rooms"):
                return None  # this puppet cannot create rooms: the next caller knows beforehand
            raise
        return created.room_id or None

    @staticmethod
    def _need(declared: bool, capability: str, what: str) -> None:
        if not declared:
            raise Unsupported(f"{what}: the puppet service cannot ({capability} is not among its capabilities)")

    def _withdraw_if_unimplemented(self, exc: TransportError, capability: str) -> bool:
        """A service answering UNIMPLEMENTED cannot do it at all: say so from now on."""
        grpc = _grpc_error(exc)
        if grpc is None or grpc.status != _library().Status.UNIMPLEMENTED:
            return False
        log.warning("wechaty: the puppet service does not implement %s; not asked again", capability)
        withdrawn: dict[str, Any] = {capability: False}  # a boolean field named by the caller
        self.capabilities = replace(self.capabilities, **withdrawn)
        return True

    # -- contributions to the process ----------------------------------------------------------

    def rate_limits(self, outbox: OutboxSettings) -> RateLimits:
        return outbox.limits  # a real account: the slow, jittered pace

    def web_routes(self) -> list[WebRoute]:
        return []

    def banner(self, base_url: str) -> str:
        status = self.status()
        state = "logged in" if status.logged_in else "waiting for login (see the log)"
        return f"wechaty: {state} as {status.account or '?'} {status.detail}"


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
    return TransportError(f"{what}: {_describe(exc)}")  # network errors and the like: worth another try


def _describe(exc: BaseException) -> str:
    """An error in one line that always says something ("TimeoutError: " said nothing)."""
    text = str(exc).strip()
    if not text and exc.__cause__ is not None:
        return f"{type(exc).__name__}: {_describe(exc.__cause__)}"
    return f"{type(exc).__name__}: {text}" if text else f"{type(exc).__name__} (no detail given)"

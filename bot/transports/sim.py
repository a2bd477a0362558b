"""The ``sim`` transport, the embedded default: the bot talks to an in-process WeChat world.

:class:`SimWorld` (``bot.transports.sim_world``) holds contacts, rooms, friendships and
invitations and journals every change; :class:`SimTransport` is the bot's side of it,
implementing :class:`bot.base.transport.Transport`. People act in the world over HTTP
(``bot.transports.sim_web``); what they do reaches the bot as neutral events, delivered in
order per conversation (one room, or one person's private chat) and each awaited.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.base.config import OutboxSettings, RateLimits, Settings
from bot.base.transport import (
    WECHAT,
    Capabilities,
    Event,
    EventSink,
    PersonalWeChat,
    TransportStatus,
    UnknownTarget,
    WebRoute,
    conversation_of,
)
from bot.transports.sim_journal import DEFAULT_JOURNAL
from bot.transports.sim_state import utc_now
from bot.transports.sim_web import sim_routes
from bot.transports.sim_world import DIRECT_ADD_LIMIT, Refused, SimWorld

__all__ = ["DEFAULT_JOURNAL", "DIRECT_ADD_LIMIT", "Refused", "SimTransport", "SimWorld"]

log = logging.getLogger(__name__)


class SimTransport(PersonalWeChat):
    """Personal WeChat's capabilities, kept by the world's rules (40 members for a direct add,
    the helper's own rooms, pictures both ways); it contributes the ``/sim`` page and API to the
    web application and sends at the fast ``outbox.sim_limits`` (nobody's account at stake)."""

    name = "sim"
    capabilities: Capabilities = WECHAT

    def __init__(self, world: SimWorld, *, page_url: str | None = None):
        self.world = world
        self.account = world.helper
        self.self_id = world.helper  # the simulated helper's contact id is its account name
        self.page_url = page_url  # set by whoever serves the /sim page, shown in status()
        self._sink: EventSink | None = None
        self._early: list[Event] = []
        self._queues: dict[str, deque[Event]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._since: datetime | None = None  # started (or stopped) at

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        journal: str | Path = DEFAULT_JOURNAL,
        *,
        page_url: str | None = None,
        clock: Callable[[], datetime] = utc_now,
        account: str | None = None,
    ) -> SimTransport:
        """``clock``: when things happen in the simulated world (the bot's clock, so a process
        on DISTBOT_CLOCK sees messages at its own time); ``account``: the helper account it
        is (default: the process's own)."""
        return cls(SimWorld.from_settings(settings, journal, clock=clock, helper=account), page_url=page_url)

    # ----------------------------------------------------------------------------- events in

    async def start(self, sink: EventSink) -> None:
        self._sink, self._since = sink, datetime.now(UTC)
        early, self._early = self._early, []
        for event in early:
            self.deliver(event)

    async def stop(self) -> None:
        """Stop delivering (events not yet delivered are dropped, as WeChat would while the
        bot is away) and close the journal."""
        self._sink, self._since = None, datetime.now(UTC)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._queues.clear()
        self.world.close()

    def deliver(self, event: Event) -> None:
        """Queue an event for the bot; before ``start`` it waits for the sink."""
        if self._sink is None:
            self._early.append(event)
            return
        key = conversation_of(event)
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(event)
            return
        queue = self._queues[key] = deque([event])
        task = asyncio.get_running_loop().create_task(self._drain(key, queue))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, key: str, queue: deque[Event]) -> None:
        try:
            while queue and self._sink is not None:
                try:
                    await self._sink(queue[0])
                except Exception:
                    log.exception("the bot failed on a simulated %s", type(queue[0]).__name__)
                queue.popleft()
        finally:
            if self._queues.get(key) is queue:
                del self._queues[key]

    async def idle(self) -> None:
        """Wait until every queued event has been handled (for tests and demos)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ----------------------------------------------------------------------------- the helper acts

    async def send_text(
        self, target: str, text: str, *, room: bool, mentions: Sequence[str] = (), ref: str | None = None
    ) -> str:
        stored = self.world.say(
            self.account, text, room=target if room else None, to=None if room else target, mentions=mentions, ref=ref
        )
        return str(stored["id"])

    async def send_image(self, target: str, image: bytes, *, room: bool, name: str, ref: str | None = None) -> str:
        where = {"room": target} if room else {"to": target}
        stored = self.world.say(self.account, name or "图片", kind="image", ref=ref, image=image, **where)
        return str(stored["id"])

    async def image_bytes(self, message_id: str) -> bytes:
        """The bytes of an image someone sent (the co-learning relay passes a lecturer's slide
        on); :class:`UnknownTarget` when the world no longer keeps them."""
        data = self.world.images.get(message_id)
        if data is None:
            raise UnknownTarget(f"the image of message {message_id!r} is not kept (or was never an image)")
        return data

    async def add_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        event = self.world.add(room, contact, ref=ref)
        if event is not None:
            self.deliver(event)

    async def invite_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        self.world.invite(room, contact, ref=ref)

    async def remove_from_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        event = self.world.remove(room, contact, ref=ref)
        if event is not None:
            self.deliver(event)

    async def room_members(self, room: str) -> list[str]:
        return list(self.world.helper_room(room).members)

    async def accept_friend(self, request_id: str) -> None:
        self.world.accept_friend(request_id)

    async def accept_room_invitation(self, invitation_id: str) -> None:
        card = self.world.invitations.get(invitation_id)
        if card is None:
            raise UnknownTarget(f"no invitation {invitation_id!r}")
        if card.contact != self.self_id:
            raise Refused(f"invitation {invitation_id} is for {card.contact}, not the helper")
        if card.state == "accepted":
            return  # a resend of an acceptance that went through
        event = self.world.accept_invitation(invitation_id)
        if event is not None:
            self.deliver(event)

    async def create_room(self, topic: str, members: Sequence[str]) -> str:
        return self.world.create_room(topic, members)

    def can_send(self) -> bool:
        return True  # in process: never disconnected

    async def ready(self) -> None:
        return None

    def status(self) -> TransportStatus:
        detail = {
            "page": self.page_url,
            "journal": str(self.world.journal_path),
            "contacts": len(self.world.contacts),
            "rooms": len(self.world.rooms),
        }
        # The world is in this process: connected and logged in exactly while started.
        up = self._sink is not None
        return TransportStatus(self.name, self.account, up, detail, connected=up, since=self._since)

    # ----------------------------------------------------------------------------- contributions

    def rate_limits(self, outbox: OutboxSettings) -> RateLimits:
        return outbox.sim_limits  # in process: no account to protect, and demos should feel live

    def web_routes(self) -> list[WebRoute]:
        return list(sim_routes(self))

    def banner(self, base_url: str) -> str:
        return f"WeChat simulator: open {base_url}/sim to chat with the helper as any contact"

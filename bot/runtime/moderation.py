"""Group moderation on the pre-routing stage: every message in a brand group is judged
(:func:`core.moderation.judge`) before any router sees it.

Not judged: private messages, rooms that are not a brand's group, ops, course managers and the
helper itself. A distributor with sales is judged by the sellers' limits. A message that breaks
a rule is recorded as a strike and escalated by :func:`services.moderation.record_offence` (a
warning in the group mentioning the person, or removal — by the helper where the transport
declares ``remove_members``, otherwise ops are told whom to remove) and stops there: no router
answers an ad. Everything else passes on untouched.

Floods are counted in this process's memory (:class:`FloodCounts`, one per process, kept by
the root object): each sender's messages per room within the flood window. One process serves
a helper account, and a restart forgets at most one window.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import datetime, timedelta

from bot.base.env import Env
from bot.base.transport import Event, Message, TransportError
from bot.runtime.middleware import CallNext, Outcome
from bot.runtime.router import MessageContext, Role
from core.moderation import Seen, judge
from services import moderation
from services.moderation_rules import RulesCache

log = logging.getLogger(__name__)


class FloodCounts:
    """Recent message times per (room, sender)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], deque[datetime]] = {}

    def count(self, room: str, sender: str, at: datetime, window: timedelta) -> int:
        """Note a message at ``at``; how many the sender posted in ``room`` within ``window``."""
        times = self.seen.setdefault((room, sender), deque())
        times.append(at)
        while times and at - times[0] >= window:
            times.popleft()
        return len(times)


class Moderator:
    """The middleware; registered after the answer limits (``bot.app.middlewares``)."""

    def __init__(self, env: Env):
        self.env = env
        self.floods = env.kept(FloodCounts)
        self.rules = env.kept(RulesCache)

    async def __call__(self, event: Event, ctx: MessageContext, call_next: CallNext) -> Outcome:
        if not isinstance(event, Message) or event.room is None:
            return await call_next()
        brand_id = ctx.brand_of_room()
        if brand_id is None or ctx.role in (Role.OPS, Role.MANAGER) or self._exempt(ctx, event):
            return await call_next()
        rules = await self.rules.current(ctx.session, ctx.settings, ctx.now)  # config.yaml's, as edited
        if not rules.enabled:
            return await call_next()
        policy = rules.policy(brand_id)
        seller = ctx.distributor is not None and await moderation.has_sales(ctx.session, ctx.distributor.id)
        limits = policy.limits(seller)
        recent = self.floods.count(event.room, event.sender, ctx.now, timedelta(seconds=limits.flood_seconds))
        seen = Seen(
            text=event.text,
            kind=event.kind,
            mentions=len(set(event.mentions)),
            has_qr=await self._has_qr(ctx, event) if limits.qr_codes and event.kind == "image" else False,
            recent=recent,
        )
        offence = judge(limits, seen)
        if offence is None:
            return await call_next()
        transport = ctx.transport
        await moderation.record_offence(
            ctx,
            brand_id=brand_id,
            room=event.room,
            contact=event.sender,
            name=event.sender_name or event.sender,
            offence=offence,
            policy=policy,
            message_id=event.id,
            seller=seller,
            can_remove=transport is not None and transport.capabilities.remove_members,
            account=ctx.account,
        )
        log.info("moderation: %s in %s broke %s (%s)", event.sender, event.room, offence.rule, offence.evidence)
        return Outcome.STOPPED

    def _exempt(self, ctx: MessageContext, event: Message) -> bool:
        """The helper, and any brand's course manager (they may visit each other's groups)."""
        if event.sender in {ctx.helper_id, ctx.account}:
            return True
        return any(event.sender in b.managers for b in ctx.settings.raw.brands)

    async def _has_qr(self, ctx: MessageContext, event: Message) -> bool:
        transport = ctx.transport
        if transport is None or not transport.capabilities.image_bytes:
            return False  # the picture cannot be read here: judged by its other features
        try:
            data = await transport.image_bytes(event.id)
        except TransportError as error:
            log.info("moderation: picture %s not readable (%s)", event.id, error)
            return False
        return await asyncio.to_thread(moderation.picture_has_qr, data)

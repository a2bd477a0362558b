"""Draining the outbox through the transport, slowly and safely.

One sender per helper account (one process each); it only takes rows naming its account.
A row is claimed (``sending``, committed) before the transport is called and marked ``sent``
after, so a crash re-sends at most the one message in flight; rows left ``sending`` are taken
up again at start. Sends keep a minimum gap per account and per room, each with random jitter
(WeChat publishes no limit and restricts accounts at low volumes). Rows queued with the same
coalesce key for the same target (relay lines of a room, "you earned" DMs to a person) go out
as one message; relay lines beyond what one message holds go as one digest of them all
(core.relay_digest: "过去 1 分钟出单 312 单，前三名 …"). Rows go by priority (bot.base.priorities),
then group posts before DMs when both are due. Transport errors are retried with doubling
backoff; after ``max_attempts`` (or an error that cannot succeed) the row is dead-lettered for
ops to look at.

One target (a room, a person) gets its messages of one priority in the order they were queued,
which is the order of their causes — an order's relay line before the red packet it triggered: a row
waiting out a retry holds back the later rows for its target, and coalescing gathers only the
lines queued before the target's next other message.

A transport that cannot send (disconnected, not logged in) pauses the sender: nothing is tried,
so nothing is counted or dead-lettered however long the outage, and a send refused as "not
connected" goes back to the queue as it was. A send whose outcome is unknown (no answer in
time) is not sent again blindly: it becomes ``uncertain`` for ops to retry or drop.

Several processes (bot.runtime.fleet): only the holder of the account's sender lease sends; the
others wait for it. On PostgreSQL each claim reserves the account's next turn on the lease row in
the claim's own transaction, so a process whose lease ran out cannot claim (another has taken
over) and the pace is the account's, not the process's. Each time the lease is taken, the rows a
previous holder left ``sending`` are queued again: at most its one message in flight goes twice.

The database going away never ends the sender: it waits (doubling, up to
``runtime.retry_max_seconds``) and carries on. A message sent while the database is out is
recorded as sent once it is back (a send cannot be taken back); rows it had claimed but not
sent are queued again.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.config import RateLimits
from bot.base.env import Env
from bot.base.faults import Backoff, database_unavailable, doing
from bot.base.metrics import Metrics
from bot.base.transport import (
    NeedInvite,
    NotConnected,
    OutsideWindow,
    Transport,
    TransportError,
    Uncertain,
    UnknownTarget,
)
from bot.runtime import quota_gate, shared_posts
from bot.runtime.fleet import Ownership
from bot.runtime.post_texts import digest_data, joined
from core.relay_digest import Digest, PendingLine, digest_of
from models import outbox_queries as box
from models.messaging import ROOM_KINDS, OutboxMessage
from models.statuses import OutboxStatus

log = logging.getLogger(__name__)
RELAY = "relay:"  # the coalesce key of a push's relay lines (bot.base.outbox.post_to_brand_groups)
DIGEST_MAX_LINES = 20_000  # lines one digest stands for at most (a bound on what one read loads)


class OutboxSender:
    def __init__(
        self,
        env: Env,
        transport: Transport,
        limits: RateLimits,
        *,
        account: str | None = None,
        ownership: Ownership | None = None,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        settings = env.settings.raw.outbox
        self.env = env
        self.transport = transport
        self.account = account or transport.account
        self.ownership = ownership  # None: this process alone sends for the account (SQLite)
        self.metrics = env.kept(Metrics)
        self.account_gap = float(limits.account_interval_seconds)
        self.room_gap = float(limits.room_interval_seconds)
        self.jitter = float(limits.jitter_seconds)
        self.max_attempts = settings.max_attempts
        self.backoff = float(settings.backoff_seconds)
        self.max_lines = settings.coalesce_max_lines
        self.poll = float(settings.poll_seconds)
        self.rng = rng or random.Random()
        self.monotonic, self.sleep = monotonic, sleep
        self.account_ready = 0.0
        self.room_ready: dict[str, float] = {}
        self.wake = asyncio.Event()
        self.sent = 0
        self.retry = Backoff(cap=float(env.settings.raw.runtime.retry_max_seconds))
        self._stopping = False
        self._stopped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"outbox-sender-{self.account}")

    async def stop(self, grace: float | None = None) -> None:
        """Stop after the send in progress, if any, waiting at most ``grace`` seconds (None:
        however long it takes); queued rows stay queued for next time. A row cut off mid-send
        stays ``sending`` and goes again at the next start."""
        self._stopping = True
        self._stopped.set()
        self.wake.set()
        if self._task is not None:
            try:
                async with asyncio.timeout(grace):
                    await asyncio.shield(self._task)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def run(self) -> None:
        doing.set("outbox sender")
        recovered, generation = False, 0
        while not self._stopping:
            if self.ownership is not None and not self.ownership.held:
                await self._wait_for_lease()
                continue
            if self.ownership is not None and self.ownership.generation != generation:
                recovered, generation = False, self.ownership.generation  # taken (again): recover
            if not self.transport.can_send():
                await self._wait_for_transport()
                continue
            outage = False
            try:
                if not recovered:  # at start, and after an outage: rows claimed but not sent
                    await self.recover()
                    recovered = True
                wait = await self.send_next()
                self.retry.reset()
            except Exception as error:
                if database_unavailable(error):  # logged once by the database's outage record
                    outage, recovered, wait = True, False, self.retry.next()
                else:
                    log.exception("outbox sender: unexpected error; pausing")
                    wait = self.poll
            if wait is None:
                wait = self.poll
            if wait and not self._stopping:
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout=wait if outage else min(wait, self.poll))
                except TimeoutError:
                    pass

    async def _record(self, write: Callable[[AsyncSession], Awaitable[None]]) -> None:
        """Write what a send did. The send cannot be taken back, so while the database is out
        this waits for it (unless stopping: the row then goes again at the next start)."""
        backoff = Backoff(cap=self.retry.cap)
        while True:
            try:
                async with self.env.db.unit_of_work() as session:
                    await write(session)
                return
            except Exception as error:
                if self._stopping or not database_unavailable(error):
                    raise
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout=backoff.next())
                except TimeoutError:
                    pass

    async def _wait_for_lease(self) -> None:
        """Another process sends for this account: wait until this one holds its lease."""
        assert self.ownership is not None
        log.info("outbox: %s is sent by another process; this one stands by", self.account)
        lease = asyncio.ensure_future(self.ownership.wait())
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait((lease, stopped), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (lease, stopped):
                waiter.cancel()
            await asyncio.gather(lease, stopped, return_exceptions=True)
        if not self._stopping:
            log.info("outbox: this process now sends for %s", self.account)

    async def _wait_for_transport(self) -> None:
        """Paused until the transport can send again (or the sender stops)."""
        log.warning("outbox: %s cannot send (%s not connected); sending paused", self.account, self.transport.name)
        ready = asyncio.ensure_future(self.transport.ready())
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait((ready, stopped), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (ready, stopped):
                waiter.cancel()
            await asyncio.gather(ready, stopped, return_exceptions=True)
        if not self._stopping:
            log.info("outbox: %s connected again; sending resumed", self.account)

    async def recover(self) -> int:
        """Rows this account left ``sending`` (a crash mid-send) are sent again."""
        async with self.env.db.unit_of_work() as session:
            count = await box.recover_in_flight(session, self.account)
        if count:
            log.info("outbox: %d message(s) in flight at the last stop will be sent again", count)
        return count

    async def send_next(self) -> float | None:
        """Send one message if one is due. Returns 0 after a send (or a lost claim), the
        seconds until a room may take its next message, the poll interval when the transport
        was not connected after all, or None when nothing is due."""
        now, mono = self.env.clock.now(), self.monotonic()
        # Rooms still waiting their turn are left out by the pick itself: another room's row
        # (or a DM) goes meanwhile, however many rows the waiting rooms hold.
        self.room_ready = {room: at for room, at in self.room_ready.items() if at > mono}
        digest: Digest | None = None
        async with self.env.db.reading() as session:
            ready = await box.next_due(session, self.account, now, self.room_ready.keys())
            group = [ready.id] if ready is not None else []
            capped = (
                ready is not None and ready.target_is_room and self.transport.capabilities.group_post_cap is not None
            )
            if capped:
                assert ready is not None
                # a capped room: what waits for it goes as one digest per window, or waits (core.quota)
                first = (await box.claimed_rows(session, [ready.id]))[0]
            elif ready is not None and (ready.coalesce_key or "").startswith(RELAY):
                group, digest = await self._relay_group(session, ready, now)
            elif ready is not None and ready.coalesce_key:
                group += await box.coalescible_lines(session, self.account, ready, now, self.max_lines - 1)
            waiting = ready is None and bool(self.room_ready) and await box.next_due(session, self.account, now)
        if ready is None:  # nothing due, or only rows of rooms waiting their turn
            return max(0.01, min(self.room_ready.values()) - mono) if waiting else None
        if capped:
            planned = await quota_gate.digest(self.env, self.transport, first, now)
            if planned is None:
                return 0.0
            # other rooms waiting with the same texts share the task (confirmed once)
            planned += await shared_posts.siblings(self.env, self.transport, planned, now)
            group = [r.id for r in planned]
        gap = self.account_ready - self.monotonic()
        if gap > 0 and self.ownership is None:  # the account's own pace comes before any room's
            await self.sleep(gap)
        turn = await self._claim(group)
        if turn is None:
            return 0.0 if self.ownership is None or self.ownership.held else self.poll
        if turn > 0:  # the account's shared pace (several processes): claimed, waiting its turn
            await self.sleep(turn)
            if self.ownership is not None and not self.ownership.held:
                return self.poll  # lost meanwhile: left `sending` for whoever takes the lease to recover
        # Read back what was claimed, in full (text, payload): a row may have been rewritten
        # while this sender waited out the account's pace (a welcome gaining the names of
        # people who just joined).
        async with self.env.db.reading() as session:
            rows = await box.claimed_rows(session, group)
        text = None if digest is None else self.env.renderer.render("relay_digest", digest_data(digest))
        if capped and rows[0].kind == "text":  # one digest within the longest post the room takes
            mine = [r for r in rows if r.target == first.target]
            text = quota_gate.digest_text(self.env.renderer, mine, self.transport.capabilities.group_text_bytes)
        return 0.0 if await self._deliver(rows, text) else self.poll

    async def _relay_group(
        self, session: AsyncSession, first: box.Due, now: datetime
    ) -> tuple[list[int], Digest | None]:
        """The relay lines that go out with ``first`` and, when more wait than one message
        holds, their digest (core.relay_digest): the room then gets every waiting line in one
        message instead of 30 at a time, so a burst never leaves a room minutes behind."""
        pending = await box.pending_lines(session, self.account, first, now, DIGEST_MAX_LINES)
        lines = [PendingLine(str(data.get("seller", "")), int(data.get("quantity", 1)), at) for _, at, data in pending]
        digest = digest_of(lines, self.max_lines, now)
        ids = [id_ for id_, _, _ in pending]
        return (ids, digest) if digest is not None else (ids[: self.max_lines], None)

    def _room_of(self, row: OutboxMessage) -> str:
        if row.kind in ROOM_KINDS:
            return str(row.payload.get("room", ""))
        return row.target if row.target_is_room else ""

    async def _claim(self, ids: list[int]) -> float | None:
        """Claim the rows ``ids``; the seconds to wait before sending it (the account's shared pace), or
        None when it was not claimed: another sender took some of it, or the lease is lost."""
        turn = 0.0
        async with self.env.db.unit_of_work() as session:
            if self.ownership is not None:
                gap = self.account_gap + self.rng.uniform(0, self.jitter)
                reserved = await self.ownership.turn(session, gap)
                if reserved is None:
                    await session.rollback()
                    return None  # another process holds the account's lease now
                turn = reserved
            if await box.claim(session, ids) != len(ids):
                await session.rollback()
                return None  # another sender of this account took some of them
        return turn

    async def _deliver(self, group: list[OutboxMessage], text: str | None = None) -> bool:
        """Send a claimed group (as ``text`` when given: a digest); False when the transport
        was not connected (put back as it was)."""
        first = group[0]
        ref = ",".join(str(r.id) for r in group)
        rooms = shared_posts.by_room(group)
        handed: str | None
        try:
            if len(rooms) > 1:  # one task for several rooms: the rooms WeCom refused fail alone
                handed, refused = await self.transport.post_to_rooms(list(rooms), text or first.text, ref=ref)
                for room in refused:
                    await self._failed(rooms[room], UnknownTarget(f"{room} is not a group of the helper"))
                group = [r for r in group if r.target not in refused]
            else:
                handed = await self._send(first, joined(r.text for r in group) if text is None else text, ref)
        except NotConnected as error:
            self._count_failure("not_connected")
            await self._put_back(group, error)
            return False
        except Uncertain as error:
            self._count_failure("uncertain")
            await self._uncertain(group, error)
        except OutsideWindow as error:  # the person's window is closed: held until they write again
            log.info("outbox: %s to %s held: %s", ref, first.target, error)
            await self._settle(group, OutboxStatus.HELD, last_error=str(error)[:500])
        except TransportError as error:
            self._count_failure(type(error).__name__)
            await self._failed(group, error)
        except Exception as error:  # a transport bug must not kill the sender
            log.exception("outbox: transport raised on message %s", ref)
            self._count_failure("transport_bug")
            await self._failed(group, TransportError(repr(error)))
        else:
            if first.target_is_room and self.transport.capabilities.group_posts_need_confirmation:
                # handed over as a task a staff member confirms: sent once the transport says so
                await self._settle(group, OutboxStatus.PROPOSED, task_id=handed, proposed_at=self.env.clock.now())
            else:
                await self._settle(group, OutboxStatus.SENT, sent_at=self.env.clock.now(), last_error="")
            self.sent += len(group)
            self.metrics.messages_out.labels(self.account, first.kind).inc(len(group))
        finally:
            self._spaced(first)
        return True

    async def _send(self, row: OutboxMessage, text: str, ref: str) -> str | None:
        """Hand the row to the transport; the id it gives a text or a picture (None otherwise)."""
        transport, payload = self.transport, row.payload or {}
        if row.kind == "text":
            return await transport.send_text(
                row.target, text, room=row.target_is_room, mentions=payload.get("mentions", ()), ref=ref
            )
        if row.kind == "image":
            image = base64.b64decode(str(payload["image_b64"]))
            return await transport.send_image(
                row.target, image, room=row.target_is_room, name=str(payload.get("name", "image.png")), ref=ref
            )
        elif row.kind == "room_add":
            try:
                await transport.add_to_room(str(payload["room"]), row.target, ref=ref)
            except NeedInvite:  # the room grew past 40 since this was queued: invite instead
                await transport.invite_to_room(str(payload["room"]), row.target, ref=ref)
        elif row.kind == "room_invite":
            await transport.invite_to_room(str(payload["room"]), row.target, ref=ref)
        elif row.kind == "friend_accept":
            await transport.accept_friend(row.target)
        elif row.kind == "room_invitation_accept":
            await transport.accept_room_invitation(row.target)
        elif row.kind == "room_remove":
            await transport.remove_from_room(str(payload["room"]), row.target, ref=ref)
        else:
            raise TransportError(f"unknown outbox kind {row.kind!r}")
        return None

    def _count_failure(self, reason: str) -> None:
        self.metrics.send_failures.labels(self.account, reason).inc()

    async def _put_back(self, group: list[OutboxMessage], error: NotConnected) -> None:
        """Nothing went out: queued again as it was, the claim's attempt not counted."""
        log.info("outbox: %s not sent, %s; back in the queue", ",".join(str(r.id) for r in group), error)
        ids = [r.id for r in group]
        await self._record(lambda session: box.unclaim(session, ids))

    async def _uncertain(self, group: list[OutboxMessage], error: Uncertain) -> None:
        log.warning(
            "outbox: %s to %s: outcome unknown (%s); kept as uncertain, not sent again until ops retry or drop it",
            ",".join(str(r.id) for r in group),
            group[0].target,
            error,
        )
        await self._settle(group, OutboxStatus.UNCERTAIN, last_error=str(error)[:500] or type(error).__name__)

    async def _settle(self, group: list[OutboxMessage], status: OutboxStatus, **values: Any) -> None:
        ids = [r.id for r in group]
        await self._record(lambda session: box.settle(session, ids, status, **values))

    async def _failed(self, group: list[OutboxMessage], error: TransportError) -> None:
        attempts = group[0].attempts  # read back after the claim, which counted this attempt
        dead = not error.retryable or attempts >= self.max_attempts
        delay = self.backoff * 2 ** (attempts - 1) * (1 + self.rng.random() / 4)
        log.warning(
            "outbox: sending %s to %s failed (attempt %d): %s%s",
            ",".join(str(r.id) for r in group),
            group[0].target,
            attempts,
            error,
            "; dead-lettered" if dead else f"; next try in {delay:.0f} s",
        )
        if dead:
            self.metrics.dead_letters.labels(self.account).inc(len(group))
        await self._settle(
            group,
            OutboxStatus.DEAD if dead else OutboxStatus.QUEUED,
            last_error=str(error)[:500] or type(error).__name__,
            not_before=self.env.clock.now() + timedelta(seconds=delay),
        )

    def _spaced(self, row: OutboxMessage) -> None:
        mono = self.monotonic()
        self.account_ready = mono + self.account_gap + self.rng.uniform(0, self.jitter)
        room = self._room_of(row)
        if room:
            self.room_ready[room] = mono + self.room_gap + self.rng.uniform(0, self.jitter)

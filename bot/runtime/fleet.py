"""Several processes on one PostgreSQL: who leads, who sends for which helper account.

PostgreSQL is the coordination engine: a lease is a row (``models.fleet``) that its holder
renews every ``fleet.heartbeat_seconds`` and that anyone may take once it has gone
``fleet.lease_seconds`` without a renewal; the database's row lock and clock decide, nothing is
voted on here. Leases:

- ``leader``: the one process that runs the singleton jobs (settlement pass, material post,
  co-learning timers). The others schedule them too and skip them while not leading, so a new
  leader has them all set; on taking the lead it runs them at once.
- ``sender:<account>``: the one process that sends for a helper account, among those configured
  for it (``fleet.accounts``). A process reaches for the accounts it stands by for only once it
  has been up for a lease's time, so each account's own process takes it first. Its claims of
  outbox rows go through the lease (fencing: a process whose lease ran out cannot claim), and
  the lease row carries the account's pace, shared by whoever sends next.

A process that stops cleanly releases its leases: another takes them at its next heartbeat. One
that dies holds them until they run out: takeover within ``lease_seconds + heartbeat_seconds``
(10 + 2 s by default). A holder counts a lease as its own only until ``lease_seconds`` after
it *asked* for the renewal, by its own clock, so it stops leading before anyone else can start.

On SQLite there is one process: it holds every lease without asking the database.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.env import Env
from bot.base.faults import database_unavailable, doing
from models import fleet_queries as q

log = logging.getLogger(__name__)
LEADER = "leader"
T = TypeVar("T")


def sender_lease(account: str) -> str:
    return f"sender:{account}"


def holder_name() -> str:
    """This process, as lease rows name it: host, pid, and a random tag (a pid is reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Fleet:
    """The leases this process wants (the lead, a sender lease per account it serves), kept by
    a heartbeat task. ``single``: SQLite, every lease held at once and for good."""

    def __init__(
        self,
        env: Env,
        accounts: Sequence[str],
        *,
        holder: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        settings = env.settings.raw.fleet
        self.env = env
        self.accounts = list(accounts)
        self.holder = holder or holder_name()
        self.ttl = float(settings.lease_seconds)
        self.heartbeat = float(settings.heartbeat_seconds)
        self.single = env.db.engine.dialect.name != "postgresql"
        self.names = [LEADER, *(sender_lease(a) for a in self.accounts)]
        self.monotonic = monotonic
        self.started = monotonic()
        # The accounts this process serves besides its own: their leases are left for a lease's
        # time after start, so each account's own process takes its lease first (they spread).
        self.standby = {sender_lease(a) for a in self.accounts[1:]}
        self._until: dict[str, float] = {}  # lease → by our clock, when we stop counting it ours
        self._events = {name: asyncio.Event() for name in self.names}
        self._on_gain: dict[str, list[Callable[[], Any]]] = {name: [] for name in self.names}
        self.gained: dict[str, int] = dict.fromkeys(self.names, 0)  # times taken (a sender recovers each time)
        self.since: dict[str, float] = {}  # lease → monotonic time it was taken
        self._task: asyncio.Task[None] | None = None
        if self.single:
            for name in self.names:
                self._until[name] = float("inf")
                self._events[name].set()
                self.gained[name] = 1
                self.since[name] = monotonic()

    # ----------------------------------------------------------------------------- asking

    def holds(self, name: str) -> bool:
        until = self._until.get(name)
        return until is not None and until > self.monotonic()

    @property
    def leading(self) -> bool:
        return self.holds(LEADER)

    def on_gain(self, name: str, callback: Callable[[], Any]) -> None:
        """Call ``callback`` each time this process takes ``name`` (a coroutine is scheduled)."""
        self._on_gain[name].append(callback)

    async def wait_for(self, name: str) -> None:
        """Until this process holds ``name``."""
        while not self.holds(name):
            self._events[name].clear()
            try:
                await asyncio.wait_for(self._events[name].wait(), timeout=self.heartbeat)
            except TimeoutError:
                pass

    def ownership(self, account: str) -> Ownership | None:
        """What the sender of ``account`` asks before each send; None on SQLite (nothing to ask)."""
        return None if self.single else Ownership(self, sender_lease(account))

    def leader_only(self, job: Callable[..., Awaitable[T]], what: str) -> Callable[..., Awaitable[T | None]]:
        """``job``, run only while this process leads (a scheduled run elsewhere is skipped)."""

        async def run(*args: Any, **kwargs: Any) -> T | None:
            if not self.leading:
                return None
            log.debug("fleet: %s runs here (leader)", what)
            return await job(*args, **kwargs)

        return run

    def state(self) -> dict[str, Any]:
        """What /healthz and /metrics say of the leases this process wants."""
        now = self.monotonic()
        return {
            "holder": self.holder,
            "single": self.single,
            "leases": {
                name: {
                    "held": self.holds(name),
                    "held_seconds": round(now - self.since[name], 1) if self.holds(name) else 0,
                }
                for name in self.names
            },
        }

    # ----------------------------------------------------------------------------- the heartbeat

    def start(self) -> None:
        if not self.single:
            self._task = asyncio.create_task(self.run(), name="fleet-heartbeat")

    async def run(self) -> None:
        doing.set("fleet")
        while True:
            try:
                await self.beat()
            except Exception as error:  # the leases lapse by our own clock meanwhile
                if not database_unavailable(error):
                    log.exception("fleet: heartbeat failed")
            await asyncio.sleep(self.heartbeat)

    async def beat(self) -> None:
        """Take or renew every lease this process wants, one transaction each (on SQLite the
        one process holds them all already: nothing to ask)."""
        if self.single:
            return
        for name in self.names:
            asked = self.monotonic()
            if name in self.standby and asked - self.started < self.ttl and not self.holds(name):
                continue
            async with self.env.db.unit_of_work() as session:
                ours = await q.take(session, name, self.holder, self.ttl)
            was = self.holds(name)
            if ours:
                self._until[name] = asked + self.ttl
                if not was:
                    self._gain(name)
            elif was or name in self._until:
                self._lose(name)

    def _gain(self, name: str) -> None:
        self.gained[name] += 1
        self.since[name] = self.monotonic()
        self._events[name].set()
        log.info("fleet: %s now holds %s", self.holder, name)
        for callback in self._on_gain[name]:
            result = callback()
            if asyncio.iscoroutine(result):
                task = asyncio.ensure_future(result)
                task.add_done_callback(_log_failure)

    def _lose(self, name: str) -> None:
        self._until.pop(name, None)
        self._events[name].clear()
        log.warning("fleet: %s no longer holds %s", self.holder, name)

    async def stop(self, grace: float = 2.0) -> None:
        """Stop the heartbeat and give up every lease held, so others take over at once."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.single:
            return
        held = [name for name in self.names if self.holds(name)]
        self._until.clear()
        try:
            async with asyncio.timeout(grace):
                async with self.env.db.unit_of_work() as session:
                    for name in held:
                        await q.release(session, name, self.holder)
        except Exception as error:  # they run out by themselves
            log.warning("fleet: leases not released (%s); they run out in %g s", type(error).__name__, self.ttl)


class OncePerPeriod(Generic[T]):
    """A periodic job run at most once per ``period`` seconds across the fleet (the settlement
    pass): whoever runs it first in a period takes the period's row (``period:<name>``); a leader
    taking over mid-period does not run it again. A run cut short by a database outage keeps
    its period and is tried again by the same process."""

    def __init__(self, fleet: Fleet, name: str, period: float, job: Callable[..., Awaitable[T]]):
        self.fleet, self.name, self.period, self.job = fleet, f"period:{name}", period, job
        self.pending = False  # taken this period, not finished

    async def __call__(self, *args: Any, **kwargs: Any) -> T | None:
        if not self.pending and not self.fleet.single:
            async with self.fleet.env.db.unit_of_work() as session:
                if not await q.take_period(session, self.name, self.fleet.holder, self.period):
                    return None
        self.pending = True
        result = await self.job(*args, **kwargs)
        self.pending = False
        log.info("fleet: %s ran on %s: %s", self.name, self.fleet.holder, result)
        return result


class Ownership:
    """One account's sender lease, as its sender sees it."""

    def __init__(self, fleet: Fleet, name: str):
        self.fleet, self.name = fleet, name

    @property
    def held(self) -> bool:
        return self.fleet.holds(self.name)

    @property
    def generation(self) -> int:
        """Changes each time the lease is taken again: the sender then recovers what a previous
        holder left ``sending``."""
        return self.fleet.gained[self.name]

    async def wait(self) -> None:
        await self.fleet.wait_for(self.name)

    async def turn(self, session: AsyncSession, gap: float) -> float | None:
        """Seconds until this account's next send may go (reserving the one after ``gap``
        later), or None when the lease is no longer ours: in the claim's transaction."""
        if not self.held:
            return None
        return await q.send_turn(session, self.name, self.fleet.holder, gap)


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("fleet: a takeover step failed: %r", task.exception())

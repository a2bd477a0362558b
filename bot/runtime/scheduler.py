"""The timer of co-learning sessions (共学营). APScheduler only says *when*; the tables say
*what*. At start, and every ``colearning.sync_seconds`` after (edits by the CLI or another
process), every moment of every live session (``core.colearning.moments``) that is not yet
handled gets a date job with a stable id — ``colearning:<session>:reminder:<minutes>``,
``…:start``, ``…:card:<minutes>``, ``…:end`` — and jobs of cancelled, edited-away or finished
moments are removed. A restart therefore keeps every job.

When a job fires, ``core.colearning.decide`` rules on the moment (a reminder missed by less
than ``colearning.grace_minutes`` still goes out; an older one is skipped and logged), and one
row per (session, moment, group) in ``colearning_deliveries`` — inserted with ON CONFLICT DO
NOTHING in the same transaction as the messages — makes each group get it once, across
restarts and several processes. The row with group 0 marks the moment handled.

The jobs the scheduler runs are :class:`bot.base.faults.Retrying` wrappers of :meth:`ColearningTimer.sync`
and :meth:`ColearningTimer.run`: a database outage delays a moment (and the grace rule then
decides), it never loses the job.

The relay filter's source rooms (:class:`SourceRooms`) are kept by the root object
(``env.kept(SourceRooms)``), refreshed by every sync. A change made in this process
(``services.colearning`` emits ``ColearningChanged``) reaches them once committed: the
composition root has the source rooms re-read (:func:`refresh_sources`) and the timer resync.

Wiring (``bot.app``): ``env.react(ColearningChanged, …)`` in ``build_env``, then
``await register_colearning_jobs(env, scheduler, transport)`` in ``serve``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.base import BaseScheduler

from bot.base.env import Env
from bot.base.faults import Retrying
from bot.base.transport import Transport, TransportError
from core.colearning import Decision, Moment, decide, describe_minutes, in_window, minutes_until, moments
from models.catalog import Course
from models.colearning import ColearningSession
from models.colearning_queries import (
    MOMENT_ITSELF,
    claim_deliveries,
    ensure_records,
    handled_moments,
    live_sessions,
    record_members_at_start,
)
from models.statuses import DeliveryStatus, SessionStatus
from services.colearning import ColearningChanged, groups_of, queue_to_groups, session_data

log = logging.getLogger(__name__)
PREFIX = "colearning:"
SYNC_JOB = "colearning:sync"
TEMPLATES = {"reminder": "colearning_reminder", "start": "colearning_started", "card": "colearning_course_card"}
TEMPLATES["end"] = "colearning_ended"


def job_id(session_id: int, key: str) -> str:
    return f"{PREFIX}{session_id}:{key}"


class SourceRooms:
    """Which lecturers may be relayed from which room, and when: the relay filter's answer
    without a database query. Refreshed from the sessions table by the timer's sync, and at
    once after a change made in this process; the relay handler checks the table again."""

    def __init__(self) -> None:
        self.rooms: dict[str, list[tuple[frozenset[str], datetime, datetime]]] = {}

    def replace(self, sessions: Iterable[ColearningSession]) -> None:
        rooms: dict[str, list[tuple[frozenset[str], datetime, datetime]]] = {}
        for row in sessions:
            rooms.setdefault(row.source_room, []).append((frozenset(row.lecturers), row.starts_at, row.ends_at))
        self.rooms = rooms

    def match(self, room: str | None, sender: str, at: datetime) -> bool:
        return any(sender in who and in_window(s, e, at) for who, s, e in self.rooms.get(room or "", ()))

    def clear(self) -> None:
        self.rooms = {}


class ColearningTimer:
    """Keeps the scheduler's co-learning jobs in line with the tables and runs them."""

    def __init__(
        self,
        env: Env,
        scheduler: BaseScheduler,
        transport: Transport | None = None,
        leading: Callable[[], bool] = lambda: True,
    ):
        self.env, self.scheduler, self.transport = env, scheduler, transport
        # Several processes: every one keeps the jobs set, only the leader sends (bot.runtime.fleet).
        self.leading = leading
        cap = float(env.settings.raw.runtime.retry_max_seconds)
        self.retrying_sync = Retrying("co-learning sync", self.sync, cap=cap, next_run=self._next_sync)
        self.retrying_run = Retrying("co-learning messages", self.run, cap=cap)

    def _next_sync(self) -> datetime | None:
        job = self.scheduler.get_job(SYNC_JOB)
        return getattr(job, "next_run_time", None)

    @property
    def grace(self) -> timedelta:
        return timedelta(minutes=self.env.settings.raw.colearning.grace_minutes)

    async def sync(self) -> None:
        """Jobs for every moment not yet handled of every live session; no others."""
        now = self.env.clock.now()
        async with self.env.db.reading() as session:
            rows = await live_sessions(session, now - self.grace)
            handled = await handled_moments(session, [r.id for r in rows])
        self.env.kept(SourceRooms).replace(rows)
        wanted: dict[str, tuple[int, Moment]] = {
            job_id(row.id, m.key): (row.id, m)
            for row in rows
            for m in moments(row.starts_at, row.ends_at, row.reminders, row.cards)
            if (row.id, m.key) not in handled
        }
        for job in self.scheduler.get_jobs():
            if job.id.startswith(PREFIX) and job.id != SYNC_JOB and job.id not in wanted:
                self.scheduler.remove_job(job.id)
        for jid, (session_id, moment) in wanted.items():
            job = self.scheduler.get_job(jid)
            due_now = moment.at <= now
            if job is not None and (due_now or getattr(job.trigger, "run_date", None) == moment.at):
                continue  # already set (a due one runs as soon as the scheduler gets to it)
            self.scheduler.add_job(
                self.retrying_run.run,
                "date",
                run_date=None if due_now else moment.at,
                args=[session_id, moment.key],
                id=jid,
                name=jid,
                replace_existing=True,
                misfire_grace_time=None,  # late or not, core.colearning.decide rules
                coalesce=True,
                max_instances=1,
            )

    async def changed(self, _: ColearningChanged) -> None:
        """A change committed in this process: the jobs move now, not at the next sync."""
        await self.sync()

    def jobs(self) -> dict[str, datetime | None]:
        """The co-learning jobs set, by id: when each fires (for tests and ops)."""
        return {
            job.id: getattr(job.trigger, "run_date", None)
            for job in self.scheduler.get_jobs()
            if job.id.startswith(PREFIX) and job.id != SYNC_JOB
        }

    async def run(self, session_id: int, key: str) -> None:
        """One moment of one session: sent to each group at most once, or skipped and logged.
        Not on a process that does not lead: the leader's own job sends it (and a new leader's
        sync sets it again at once, to be sent if still within the grace time)."""
        if not self.leading():
            return
        env, now = self.env, self.env.clock.now()
        async with env.db.reading() as session:
            row = await session.get(ColearningSession, session_id)
            if row is None or row.status != SessionStatus.SCHEDULED:
                return
            moment = next(
                (m for m in moments(row.starts_at, row.ends_at, row.reminders, row.cards) if m.key == key), None
            )
            decision = decide(moment, now, self.grace) if moment is not None else Decision.WAIT
            if moment is None or decision is Decision.WAIT:
                return  # edited away or moved later: the sync sets the job again
            groups = await groups_of(session, row)
        members = await self._members(groups) if decision is Decision.SEND and moment.kind == "start" else {}
        async with env.context() as ctx:
            status = DeliveryStatus.SENT if decision is Decision.SEND else DeliveryStatus.SKIPPED
            fresh = await claim_deliveries(ctx.session, session_id, key, [g.id for g in groups], status, now)
            first = await claim_deliveries(ctx.session, session_id, key, [MOMENT_ITSELF], status, now)
            if decision is Decision.SKIP:
                if first and moment.at < row.updated_at:  # e.g. a 24 h reminder of a session set for tonight
                    log.info("colearning: session %s %s was due before the session was set: skipped", session_id, key)
                elif first:
                    log.warning(
                        "colearning: session %s %r: %s was due at %s, now %s, more than the grace time (%s): skipped",
                        session_id,
                        row.title,
                        key,
                        moment.at.isoformat(),
                        now.isoformat(),
                        self.grace,
                    )
                return
            if moment.kind == "start":
                await ensure_records(ctx.session, session_id, [g.id for g in groups])
                await record_members_at_start(ctx.session, session_id, members)
            data = session_data(row, env.settings)
            if moment.kind == "reminder":
                left = minutes_until(row.starts_at, now)
                data |= {"minutes": left, "lead": describe_minutes(left)}
            elif moment.kind == "card":
                course = await ctx.session.get(Course, row.course_sku or "")
                if course is None:
                    return
                data |= {"price": course.price, "keyword": row.buy_keyword or course.name}
            queue_to_groups(ctx, [g for g in groups if g.id in fresh], TEMPLATES[moment.kind], data)
        if fresh:
            log.info("colearning: session %s %s sent to %d group(s)", session_id, key, len(fresh))

    async def _members(self, groups: Sequence[Any]) -> dict[int, int]:
        """Member counts at the start, from the member lists of the groups this process's
        helper account is in (each helper's process counts its own groups)."""
        counts: dict[int, int] = {}
        if self.transport is None:
            return counts
        for group in groups:
            if group.account != self.transport.account:
                continue
            try:
                counts[group.id] = len(await self.transport.room_members(group.room_id))
            except TransportError as error:
                log.warning("colearning: no member list for %s: %s", group.room_id, error)
        return counts


async def register_colearning_jobs(
    env: Env, scheduler: BaseScheduler, transport: Transport | None = None, leading: Callable[[], bool] = lambda: True
) -> ColearningTimer:
    """Set every co-learning job from the tables now, and re-read them every
    ``colearning.sync_seconds``, and at once after a change committed in this process
    (``ColearningChanged``). ``transport`` reads the member lists at each start; the jobs
    send only while ``leading()`` (the process leads the fleet)."""
    timer = ColearningTimer(env, scheduler, transport, leading)
    env.react(ColearningChanged, timer.changed)
    await timer.sync()
    scheduler.add_job(
        timer.retrying_sync.run,
        "interval",
        seconds=env.settings.raw.colearning.sync_seconds,
        id=SYNC_JOB,
        name=SYNC_JOB,
        replace_existing=True,
        max_instances=1,
        coalesce=True,
    )
    return timer


async def refresh_sources(env: Env) -> None:
    """Re-read the relay filter's source rooms (a change committed in this process: the relay
    follows at once, with or without a timer; other processes catch up at their next sync)."""
    async with env.db.reading() as session:
        env.kept(SourceRooms).replace(await live_sessions(session, env.clock.now()))

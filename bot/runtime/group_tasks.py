"""Following proposed group posts (``capabilities.group_posts_need_confirmation``, WeCom's
group-message tasks) until they are settled.

Every pass asks the transport where each proposed task of this account is: delivered → the
rows become ``sent``; refused for the room's cap (WeCom's status 3) or failed → ``dead`` with the
reason, for ops (never retried: the same post would be refused again); still waiting → the
staff member is reminded once ``remind_after`` has passed since it was queued, and again every
``REMIND_EVERY`` (WeCom allows 3 reminders a task in 24 h), and after ``expire_after`` the task
is cancelled and its rows ``expired``. A transport error leaves the task for the next pass. A
task covering several rooms is looked up once a pass, settled room by room, reminded and
cancelled once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.base.env import Env
from bot.base.transport import PostState, Transport, TransportError
from models import group_task_queries as tasks
from models import marks
from models.statuses import OutboxStatus

log = logging.getLogger(__name__)
REMIND_EVERY = timedelta(hours=8)  # 3 a day at most, as WeCom allows
REASONS = {
    PostState.CAPPED: "the group already had its share of group messages this period (WeCom status 3)",
    PostState.FAILED: "WeCom did not deliver it to the group (the group is gone, or the task was withdrawn)",
}


@dataclass
class Followed:
    """What one pass did, task by task."""

    sent: int = 0
    failed: int = 0
    reminded: int = 0
    expired: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)


async def follow(env: Env, transport: Transport, *, remind_after: timedelta, expire_after: timedelta) -> Followed:
    done = Followed()
    async with env.db.reading() as session:
        rows = await tasks.proposed_rows(session, transport.account)
    # the oldest row of each task in each room: a task may cover several rooms (one chat list)
    first = {(row.task_id, row.target): row for row in reversed(rows) if row.task_id}
    rooms_of: dict[str, list[str]] = {}
    queued: dict[str, datetime] = {}  # when each task's oldest post was queued: its rooms expire together
    for (task_id, room), row in first.items():
        rooms_of.setdefault(task_id, []).append(room)
        queued[task_id] = min(queued.get(task_id, row.created_at), row.created_at)
    states: dict[tuple[str, str], PostState] = {}
    for task_id, rooms in rooms_of.items():  # one look a task, however many rooms it covers
        try:
            found = await transport.post_states(task_id, rooms)
        except TransportError as error:
            done.errors.append(f"{task_id}: {error}")
            continue
        states.update(((task_id, room), found.get(room, PostState.PROPOSED)) for room in rooms)
    handled: set[str] = set()  # tasks reminded or found waiting in this pass (once a task)
    cancelled: set[str] = set()
    for task_id, room in first:
        state = states.get((task_id, room))
        if state is None:
            continue  # its task could not be read: the next pass tries again
        now = env.clock.now()
        async with env.db.unit_of_work() as session:
            if state is PostState.SENT:
                await tasks.settle_task(session, task_id, OutboxStatus.SENT, room, sent_at=now)
                done.sent += 1
            elif state in REASONS:
                await tasks.settle_task(session, task_id, OutboxStatus.DEAD, room, last_error=REASONS[state])
                done.failed += 1
            elif now - queued[task_id] >= expire_after:
                if task_id not in cancelled:
                    cancelled.add(task_id)
                    try:
                        await transport.cancel_post(task_id)
                    except TransportError as error:
                        log.warning("group task %s could not be cancelled: %s", task_id, error)
                hours = expire_after.total_seconds() / 3600
                await tasks.settle_task(session, task_id, OutboxStatus.EXPIRED, room,
                                        last_error=f"nobody confirmed it within {hours:g} h; the task was withdrawn")
                done.expired += 1
            elif task_id in handled:
                done.waiting += 1
            elif now - queued[task_id] >= remind_after and await marks.claim(
                session, f"group-task-remind:{task_id}", now, REMIND_EVERY
            ):
                handled.add(task_id)
                await remind(transport, task_id, done)
            else:
                handled.add(task_id)
                done.waiting += 1
    if done.sent or done.failed or done.expired:
        log.info("group tasks: %d sent, %d refused, %d expired, %d reminded, %d waiting", done.sent, done.failed,
                 done.expired, done.reminded, done.waiting)
    return done


async def remind(transport: Transport, task_id: str, done: Followed) -> None:
    try:
        await transport.remind_post(task_id)
        done.reminded += 1
    except TransportError as error:  # e.g. the day's 3 reminders spent: the next pass tries again
        done.errors.append(f"{task_id}: {error}")

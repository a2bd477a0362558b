"""One proposed task for many rooms: when a capped room's digest goes and other rooms wait with
exactly the same texts (a co-learning relay or a reminder queued for 50 groups), the digest goes
to all of them as one task (``capabilities.rooms_per_post``, WeCom's ``chat_id_list``), so the
staff member confirms once instead of 50 times. Each of those rooms is planned on its own
first (core.quota): only a room whose plan sends all its waiting texts now, nothing merged
away, joins; WeCom counts the task against each room's cap, as the planner does."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.base.env import Env
from bot.base.transport import Transport
from bot.runtime.quota_gate import kind_of
from core.quota import Waiting, period_of, plan_group
from models import group_task_queries as tasks
from models.messaging import OutboxMessage


async def siblings(env: Env, transport: Transport, planned: list[OutboxMessage], now: datetime) -> list[OutboxMessage]:
    """The rows of other rooms that can share ``planned``'s task (the module's rule), at most
    ``rooms_per_post`` − 1 rooms."""
    room, texts = planned[0].target, [r.text for r in planned]
    cap, most = transport.capabilities.group_post_cap, transport.capabilities.rooms_per_post - 1
    if cap is None or most <= 0 or planned[0].kind != "text" or any(r.target != room for r in planned):
        return []
    zone = ZoneInfo(env.settings.raw.platform.timezone)
    local = now.astimezone(zone)
    period = period_of(cap.per, local)
    rules = env.settings.raw.transport.wecom.group_messages
    joining: list[OutboxMessage] = []
    async with env.db.reading() as session:
        candidates = await tasks.rooms_waiting_with(session, transport.account, texts, room, now)
        for other in candidates[:most]:
            waiting = await tasks.waiting_for_room(session, transport.account, other, now)
            if [r.text for r in waiting] != texts:
                continue
            posted = await tasks.posts_since(session, transport.account, other, period[0].astimezone(UTC))
            brand = await tasks.room_brand(session, other)
            anchor = rules.digest_at.get(brand, rules.digest_at_default) if brand else rules.digest_at_default
            plan = plan_group([Waiting(r.id, kind_of(r)) for r in waiting], now=local, period=period,
                              allowed=cap.allowed(local.date()), posted=[at.astimezone(zone) for at in posted],
                              anchor=anchor)
            if plan.superseded or list(plan.send) != [r.id for r in waiting]:
                continue
            joining.extend(waiting)
    if joining:
        async with env.db.unit_of_work() as session:
            await tasks.postpone(session, [r.id for r in joining], now, "one task with the same post to other groups")
    return joining


def by_room(rows: list[OutboxMessage]) -> dict[str, list[OutboxMessage]]:
    """Rows grouped by their room, in the order the rooms first appear."""
    grouped: dict[str, list[OutboxMessage]] = defaultdict(list)
    for row in rows:
        grouped[row.target].append(row)
    return dict(grouped)

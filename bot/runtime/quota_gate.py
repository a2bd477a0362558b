"""The outbox's side of the quota planner (:mod:`core.quota`): before a post goes to a room
whose posts the transport caps (``capabilities.group_post_cap``, WeCom's monthly cap), every
text waiting for that room is planned together (a picture is planned alone: it cannot be
merged), the window's post anchored at the time of day set for the room's brand
(``transport.wecom.group_messages.digest_at``). Either one digest goes now — the rows it
merges, with the plan's reason kept on each, leaderboards superseded by a newer one dropped
with theirs — or they all wait for the room's next window (or its anchor), the reason said on
each row for ops. The digest's text is fitted to the longest post the transport takes
(core.post_fit: the oldest relay lines listed, the rest counted)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.base.env import Env
from bot.base.render import Renderer
from bot.base.transport import Transport
from core.post_fit import fit_digest
from core.quota import Kind, Waiting, period_of, plan_group
from models import group_task_queries as tasks
from models.messaging import OutboxMessage

LEADERBOARDS = ("leaderboard",)
RELAY_LINES = ("relay_line", "colearning_relay")


def kind_of(row: OutboxMessage) -> Kind:
    if row.template in LEADERBOARDS:
        return "leaderboard"
    return "relay" if row.template in RELAY_LINES else "post"


async def digest(env: Env, transport: Transport, ready: OutboxMessage, now: datetime) -> list[OutboxMessage] | None:
    """The rows to send to ``ready``'s room as one digest now, or None (they wait)."""
    cap = transport.capabilities.group_post_cap
    assert cap is not None
    zone = ZoneInfo(env.settings.raw.platform.timezone)
    local = now.astimezone(zone)
    period = period_of(cap.per, local)
    async with env.db.reading() as session:
        # texts merge into one digest; a picture (a leaderboard poster) is a post of its own
        if ready.kind == "text":
            waiting = await tasks.waiting_for_room(session, transport.account, ready.target, now)
        else:
            waiting = [ready]
        posted = await tasks.posts_since(session, transport.account, ready.target, period[0].astimezone(UTC))
        brand = await tasks.room_brand(session, ready.target)
    if not waiting:
        return None
    rules = env.settings.raw.transport.wecom.group_messages
    anchor = rules.digest_at.get(brand, rules.digest_at_default) if brand else rules.digest_at_default
    plan = plan_group([Waiting(r.id, kind_of(r)) for r in waiting], now=local, period=period,
                      allowed=cap.allowed(local.date()), posted=[at.astimezone(zone) for at in posted], anchor=anchor)
    async with env.db.unit_of_work() as session:
        if not plan.send:
            until = (plan.wait_until or local).astimezone(UTC)
            await tasks.postpone(session, [r.id for r in waiting], until, plan.reason)
            return None
        if plan.superseded:
            await tasks.merge_away(session, plan.superseded, "superseded by a newer leaderboard in the same digest")
        await tasks.postpone(session, plan.send, now, plan.reason)
    by_id = {r.id: r for r in waiting}
    return [by_id[i] for i in plan.send]


def digest_text(renderer: Renderer, rows: list[OutboxMessage], limit: int | None) -> str:
    """The digest of ``rows`` as one text: relay lines one a line, other posts after a blank
    line each, within ``limit`` bytes (None: all of it)."""
    lines = [r.text for r in rows if kind_of(r) == "relay"]
    others = [r.text for r in rows if kind_of(r) != "relay"]
    if limit is None:
        return "\n\n".join(b for b in ("\n".join(lines), *others) if b)
    return fit_digest(lines, others, limit, lambda n: renderer.render("digest_more", {"count": n})).text

"""The material group (素材群, ``platform.material_group``): the post recommending the brands with
their keywords — once a day on a schedule, and when ops or a course manager ask with "推荐"
(``handlers.material``).

The scheduled post (:func:`post_material`) goes out at most once per local day, whichever
process and however many restarts: the day is marked (table ``marks``) in the same
transaction that queues the post. It posts the first time it runs between ``material.post_at``
and ``material.post_until`` (platform timezone), so a run at start-up catches up a missed one.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.base.config import Settings
from bot.base.context import Context
from bot.base.env import Env
from bot.base.outbox import queue_text
from core.keywords import rotated
from models import marks
from services.reports import local_zone

log = logging.getLogger(__name__)
MATERIAL_JOB_ID = "material-post"


def material_trigger(settings: Settings) -> dict[str, Any] | None:
    """APScheduler cron fields for the daily post (None when there is no material group or no
    ``material.post_at``)."""
    post_at = settings.raw.material.post_at
    if settings.raw.platform.material_group is None or post_at is None:
        return None
    return {"hour": post_at.hour, "minute": post_at.minute, "timezone": settings.raw.platform.timezone}


def queue_material_post(ctx: Context) -> int:
    """Queue the recommendation into the material group; the number of brands in it."""
    settings = ctx.settings
    room = settings.raw.platform.material_group
    assert room is not None
    day = ctx.now.astimezone(local_zone(settings)).toordinal()
    brands = [{"name": b.name, "intro": b.intro, "keyword": b.keywords[0]} for b in rotated(settings.raw.brands, day)]
    queue_text(
        ctx,
        target=room,
        room=True,
        template="material_post",
        data={"platform": settings.raw.platform.name, "brands": brands},
    )
    return len(brands)


async def post_material(env: Env) -> bool:
    """The scheduled job: post today's recommendation unless it is outside the posting hours
    or already posted today (by this or another process). True when it posted."""
    settings = env.settings
    material = settings.raw.material
    if settings.raw.platform.material_group is None or material.post_at is None:
        return False
    async with env.context() as ctx:
        local = ctx.now.astimezone(local_zone(settings))
        if not material.post_at <= local.time() < material.post_until:
            return False
        if not await marks.claim(ctx.session, f"material-post:{local.date().isoformat()}", ctx.now):
            return False
        count = queue_material_post(ctx)
    log.info("material group: posted today's recommendation (%d brands)", count)
    return True

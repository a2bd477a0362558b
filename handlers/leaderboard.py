"""Leaderboards in brand groups, as text and as a PNG poster.

"排行榜 [今日|本周|本月|接龙|全部] [金额|单数|新客]" from anyone in a brand group answers in that
group; "发布排行榜 …" from the brand's course manager (or ops) posts it in every group of the
brand. The ranking is services.reports.leaderboard_report (names masked there and again in the
templates); the poster is bot.base.poster, its words from the template ``leaderboard_poster``.
The same board asked again in a room within a minute gets a short "just posted" answer
instead of another image (a mark per room and board, table ``marks``: someone repeating
"排行榜" does not start a poster storm). Without
a CJK font the text still goes out and the missing font is logged.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import timedelta
from typing import Any

from bot.base.config import BrandSettings
from bot.base.outbox import queue_row
from bot.base.poster import PosterFontMissing, poster_from_text, render_poster
from bot.runtime.router import MessageContext, Router
from core.group_ops import BoardQuery, GroupCommand, parse_board_args
from handlers.brand_groups import group_command, managers, refuse
from models import marks
from models import queries as q
from models.catalog import BrandGroup
from services import reports
from services.errors import NotFound

log = logging.getLogger(__name__)
router = Router("leaderboard")
LIMIT = 10
COOLDOWN = timedelta(seconds=60)
POSTER_NAME = "leaderboard.png"


async def board_data(ctx: MessageContext, brand_id: str, query: BoardQuery) -> dict[str, Any]:
    """The data of the ``leaderboard`` and ``leaderboard_poster`` templates."""
    report = await reports.leaderboard_report(
        ctx.session, ctx.settings, brand_id, query.period, query.metric, LIMIT, ctx.now
    )
    if report is None:  # the configuration's brands are brought into the catalog at every start
        raise NotFound(f"brand {brand_id} is not in the catalog")
    push = report["push"]
    return {
        "platform": ctx.settings.raw.platform.name,
        "brand": report["brand"]["name"],
        "period": query.period,
        "metric": query.metric,
        "since": report["from"],
        "push": {"title": push["title"], "open": push["open"]} if push else None,
        "rows": [{"rank": r["rank"], "seller": r["seller"], "value": r["value"]} for r in report["rows"]],
        "now": ctx.now,
    }


async def poster_png(ctx: MessageContext, data: dict[str, Any]) -> bytes | None:
    """The poster as PNG bytes (drawn off the event loop), or None without a CJK font."""
    poster = poster_from_text(ctx.renderer.render("leaderboard_poster", data))
    try:
        return await asyncio.to_thread(render_poster, poster)
    except PosterFontMissing as missing:
        log.error("leaderboard poster not drawn: %s", missing)
        return None


def queue_board(ctx: MessageContext, room: str, account: str | None, text: str, png: bytes | None, what: str) -> None:
    """The text, then the poster as an image (outbox kind "image")."""
    account = account or ctx.settings.helper_account
    queue_row(ctx, account=account, kind="text", target=room, target_is_room=True, template="leaderboard", text=text)
    if png is not None:
        queue_row(
            ctx,
            account=account,
            kind="image",
            target=room,
            target_is_room=True,
            template="leaderboard_poster",
            text=f"排行榜海报 {what}",
            payload={"image_b64": base64.b64encode(png).decode("ascii"), "name": POSTER_NAME},
        )


async def _query(ctx: MessageContext, brand_id: str, command: GroupCommand) -> BoardQuery | None:
    push_open = await q.open_push(ctx.session, brand_id) is not None
    query = parse_board_args(command.rest, push_open)
    if query is None:
        ctx.reply("leaderboard_usage", {})
    return query


@router.message(group_command("leaderboard"))
async def leaderboard(ctx: MessageContext, room: str, brand: BrandSettings, command: GroupCommand) -> None:
    brand_id = brand.id
    query = await _query(ctx, brand_id, command)
    if query is None:
        return
    what = f"{brand_id} {query.period} {query.metric}"
    if not await marks.claim(ctx.session, f"board:{room}:{what}"[:160], ctx.now, every=COOLDOWN):
        ctx.reply("leaderboard_cooldown", {"seconds": int(COOLDOWN.total_seconds())})
        return
    data = await board_data(ctx, brand_id, query)
    group = await ctx.session.get(BrandGroup, room)
    account = (group.account if group else None) or (ctx.transport.account if ctx.transport else None)
    queue_board(ctx, room, account, ctx.renderer.render("leaderboard", data), await poster_png(ctx, data), what)


@router.message(group_command("post_leaderboard"), managers)
async def post_leaderboard(ctx: MessageContext, brand: BrandSettings, command: GroupCommand) -> None:
    brand_id = brand.id
    query = await _query(ctx, brand_id, command)
    if query is None:
        return
    data = await board_data(ctx, brand_id, query)
    text = ctx.renderer.render("leaderboard", data)
    png = await poster_png(ctx, data)
    for group in await q.brand_groups(ctx.session, brand_id):
        queue_board(ctx, group.room_id, group.account, text, png, f"{brand_id} {query.period} {query.metric}")


@router.message(group_command("post_leaderboard"))
async def not_a_manager(ctx: MessageContext, command: GroupCommand, brand: BrandSettings) -> None:
    refuse(ctx, command, brand)

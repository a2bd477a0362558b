"""Order relay pushes (出单接龙), run by the brand's course manager in a brand group.

"开始接龙 [标题]" opens a push for the whole brand (refused while one is open); from then on
the order pipeline (services.orders) adds a numbered line in every group of the brand for each
attributed order — recorded in ``relay_lines`` and queued with the coalesce key
``relay:<room>`` so a burst goes out as one message per room per sending window. "结束接龙"
closes it and posts, in every group, the final list — every line the push posted, numbered as
posted, seller masked, course and quantity — then the 出单王 the start message promised: the
seller(s) with the highest sales of the push (all of them on a tie) with the rest of the podium,
or, when nothing was sold, a plain word that there is none this time. The group's "排行榜 接龙",
the ops API's ``period=push`` and this end all read the same lines
(services.reports.leaderboard_report), so they agree line for line.
"""

from __future__ import annotations

from bot.base.config import BrandSettings
from bot.base.outbox import post_to_brand_groups
from bot.base.transport import Message
from bot.runtime.router import MessageContext, Router
from core.group_ops import GroupCommand, pages
from handlers.brand_groups import group_command, managers, refuse
from models import boards
from models import queries as q
from models.catalog import RelayPush
from services import audit, reports
from services.errors import NotFound

router = Router("relay")
LINES_PER_MESSAGE = 40
MAX_MESSAGES = 5  # a longer list is cut: "…另有 N 单"
TOP = 3


@router.message(group_command("start_relay"), managers)
async def start_relay(ctx: MessageContext, message: Message, command: GroupCommand, brand: BrandSettings) -> None:
    await q.lock_brand(ctx.session, brand.id)  # two managers at once: one push
    open_push = await q.open_push(ctx.session, brand.id)
    if open_push is not None:
        ctx.reply("relay_already_open", {"title": open_push.title, "started_at": open_push.started_at})
        return
    title = command.rest[:64]
    ctx.session.add(RelayPush(brand_id=brand.id, title=title, started_at=ctx.now, started_by=message.sender))
    audit.record(ctx, "sessions", "relay.start", subject=title or brand.name, brand_id=brand.id, after={"title": title})
    await post_to_brand_groups(ctx, brand.id, "relay_started", {"brand": brand.name, "title": title})


@router.message(group_command("end_relay"), managers)
async def end_relay(ctx: MessageContext, brand: BrandSettings) -> None:
    await q.lock_brand(ctx.session, brand.id)
    push = await q.open_push(ctx.session, brand.id)
    if push is None:
        ctx.reply("relay_not_open", {"brand": brand.name})
        return
    push.ended_at = ctx.now
    await ctx.session.flush()
    audit.record(
        ctx,
        "sessions",
        "relay.end",
        subject=push.title or brand.name,
        brand_id=brand.id,
        before={"started_at": push.started_at},
        after={"ended_at": push.ended_at},
    )
    lines = [
        {"number": number, "seller": seller, "course": course, "quantity": quantity, "refunded": refunded}
        for number, seller, course, quantity, refunded in await boards.push_lines(ctx.session, push.id)
    ]
    cut, omitted = pages(lines, LINES_PER_MESSAGE, MAX_MESSAGES)
    for index, page in enumerate(cut or [[]], 1):
        data = {
            "brand": brand.name,
            "title": push.title,
            "total": len(lines),
            "lines": page,
            "page": index,
            "pages": len(cut),
            "omitted": omitted if index == len(cut) else 0,
        }
        await post_to_brand_groups(ctx, brand.id, "relay_final", data)
    # Everyone ranked, then cut by rank, not by count: a tie for first (or third) names them all.
    board = await reports.leaderboard_report(ctx.session, ctx.settings, brand.id, "push", "amount", None, ctx.now)
    if board is None:  # the configuration's brands are brought into the catalog at every start
        raise NotFound(f"brand {brand.id} is not in the catalog")
    podium = [row for row in board["rows"] if row["rank"] <= TOP]
    data = {
        "title": push.title,
        "orders": len(lines),
        "kings": [row for row in podium if row["rank"] == 1],
        "rows": podium,
    }
    await post_to_brand_groups(ctx, brand.id, "relay_top", data)


@router.message(group_command("start_relay", "end_relay"))
async def not_a_manager(ctx: MessageContext, command: GroupCommand, brand: BrandSettings) -> None:
    refuse(ctx, command, brand)

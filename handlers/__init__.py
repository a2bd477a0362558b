"""Chat: one module per capability, each with a router whose handlers read what a message
says and call services (or queue the answer themselves where nothing else would use the
logic). The order of ``ROUTERS`` is the order of matching: the first handler whose filters pass
wins; the fallback comes last. A filter hands on what it found (``bot.runtime.router``) and
the handler names what it needs in its signature — ``async def set_stock(ctx, command, brand)``
— so nothing is parsed twice and nothing re-checked. ``handlers.brand_groups`` is not a router:
the filters and the polite refusal the brand-group routers share.

May import: ``bot.runtime`` (the router, the co-learning timer's source rooms), ``services``,
``bot.base``, ``models``, ``core`` — never ``bot.web``, ``bot.console``, ``bot.cli``, a
transport's module, nor another router."""

from bot.runtime.router import Router
from handlers import (
    appeals,
    codes,
    colearning,
    earnings,
    friends,
    groups,
    keywords,
    leaderboard,
    material,
    membership,
    menu,
    red_packets,
    relay,
    withdrawals,
)

ROUTERS: list[Router] = [
    colearning.router,  # first: "申请共学营", lecturer messages in a source room, the helper joining a group
    groups.router,  # brand groups: welcome newcomers (joins), 库存, 公告 — only brand-group rooms
    relay.router,  # 开始接龙 / 结束接龙
    leaderboard.router,  # 排行榜
    red_packets.router,  # 晒单
    membership.router,  # other joins and leaves: member lists
    friends.router,  # friend requests (a code in the greeting registers), invitations into rooms
    menu.router,  # exactly "帮助", "菜单", "品牌" in a DM: cheap and unambiguous, so early
    codes.router,  # "注册 …", "邀请码", "申请 500 3", how to join
    withdrawals.router,  # "提现", "提现 金额"
    appeals.router,  # "申诉 …": against a removal by group moderation
    earnings.router,  # "收益", "升级"
    material.router,  # "推荐" from ops and managers
    keywords.router,  # brand words anywhere in a DM: after every router with DM commands
    menu.fallback,  # last: what nothing else understood
]

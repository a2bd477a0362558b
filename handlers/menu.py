"""The brand menu: the answer to "品牌", "菜单", "帮助" — and, last of all routers, to any private
message nothing else understood, or a group message that mentions the helper."""

from __future__ import annotations

from bot.router import MessageContext, Router, exactly, group, private

router = Router("menu")
fallback = Router("fallback")


def menu_data(ctx: MessageContext) -> dict[str, object]:
    return {
        "platform": ctx.settings.raw.platform.name,
        "brands": [{"name": b.name, "keyword": b.keywords[0], "intro": b.intro} for b in ctx.settings.raw.brands],
    }


@router.message(private, exactly("品牌", "菜单", "帮助", "help", "menu", "?", "？"))
async def menu(ctx: MessageContext) -> None:
    ctx.reply("menu", menu_data(ctx))


@fallback.message(private)
async def not_understood(ctx: MessageContext) -> None:
    ctx.reply("menu", {**menu_data(ctx), "not_understood": True})


@fallback.message(group, lambda ctx: ctx.message.mentions_self)
async def mentioned(ctx: MessageContext) -> None:
    ctx.reply("menu", {**menu_data(ctx), "not_understood": True})

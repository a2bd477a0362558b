"""The brand menu: the answer to "品牌", "菜单", "帮助" — and, last of all routers, to any private
message nothing else understood, or a group message that mentions the helper.

The full menu goes to one person at most once per ``dm.menu_every_minutes`` for what nothing
understood; within that time they get a one-line reminder of the keywords instead. Asked for
("帮助"), the menu is answered again, and like every answer (bot.runtime.limits) the same text is not
given twice within ``answers.repeat_minutes``, nothing past the answer budget but one "稍后再试".
So a stranger repeating "帮助" ten times gets the menu once.

When the menu was last sent is read from the answer limits' memory, which records what was
actually queued (a menu withheld by the limits does not count as sent) in this process: a
person writes to one helper account, and one process serves each account, so no other process
needs it; the worst a restart does is send someone the menu once more. Keeping it out of the
database keeps the busiest answer at no statement per message.
"""

from __future__ import annotations

from datetime import timedelta

from bot.base.config import Settings
from bot.runtime.router import MessageContext, Router, exactly, group, private

router = Router("menu")
fallback = Router("fallback")


class MenuData:
    """The menu's data, built once per configuration and kept by the root object
    (``ctx.kept(MenuData)``), so the renderer finds its text cached by identity instead of
    comparing the data again on every DM."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.data: dict[str, object] = {}

    def of(self, settings: Settings) -> dict[str, object]:
        if self.settings is not settings:
            self.data = {
                "platform": settings.raw.platform.name,
                "brands": [{"name": b.name, "keyword": b.keywords[0], "intro": b.intro} for b in settings.raw.brands],
            }
            self.settings = settings
        return self.data


def menu_data(ctx: MessageContext) -> dict[str, object]:
    return ctx.kept(MenuData).of(ctx.settings)


def _menu_or_reminder(ctx: MessageContext, *, asked: bool) -> None:
    data = menu_data(ctx)
    every = timedelta(minutes=ctx.settings.raw.dm.menu_every_minutes)
    # Asked for again: the same menu, which the repeat rule withholds while the one just sent
    # still stands — "帮助" ten times is one answer, not a menu and a reminder.
    if asked or not every or not ctx.answered_within("menu", every):
        ctx.reply("menu", data if asked else {**data, "not_understood": True})
    else:
        ctx.reply("menu_reminder", {"brands": data["brands"]})


@router.message(private, exactly("品牌", "菜单", "帮助", "help", "menu", "?", "？"))
async def menu(ctx: MessageContext) -> None:
    _menu_or_reminder(ctx, asked=True)


@fallback.message(private)
async def not_understood(ctx: MessageContext) -> None:
    _menu_or_reminder(ctx, asked=False)


@fallback.message(group, lambda ctx: ctx.message.mentions_self)
async def mentioned(ctx: MessageContext) -> None:
    _menu_or_reminder(ctx, asked=False)

"""The brand menu: the answer to "品牌", "菜单", "帮助" — and, last of all routers, to any private
message nothing else understood, or a group message that mentions the helper.

The full menu goes to one person at most once per ``dm.menu_every_minutes``. Within that time
someone asking again gets a one-line reminder of the keywords; text the bot does not
understand gets that reminder once, then nothing until the time is up — answers, not a reply
storm.

What was sent when is kept in this process's memory (:class:`Recently`): a person writes to
one helper account, and one process serves each account, so no other process needs it; the
worst a restart does is send someone the menu once more. Keeping it out of the database keeps
the busiest answer at no statement per message (a table write per DM cut bench/dispatch.py
from ~9,800 to ~1,400 DMs/s). A claim only counts once its unit of work commits, so a batch
replayed after a failure still sends what it owes.
"""

from __future__ import annotations

import weakref
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.router import MessageContext, Router, exactly, group, private

router = Router("menu")
fallback = Router("fallback")
PENDING = "distbot.menu.sent"


class Recently:
    """When each key (e.g. "menu:wx-lina") was last claimed; old entries are dropped as it grows."""

    def __init__(self, max_entries: int = 50_000):
        self.at: dict[str, datetime] = {}
        self.max_entries = max_entries

    def due(self, key: str, now: datetime, every: timedelta) -> bool:
        last = self.at.get(key)
        return last is None or now - last >= every

    def remember(self, sent: dict[str, datetime], every: timedelta) -> None:
        self.at.update(sent)
        if len(self.at) > self.max_entries:
            newest = max(self.at.values())
            self.at = {k: at for k, at in self.at.items() if newest - at < every}


# One memory per database engine: one per process in production, one per test database.
_memories: weakref.WeakKeyDictionary[Any, Recently] = weakref.WeakKeyDictionary()


def _memory(session: Session) -> Recently:
    engine = session.get_bind()
    if engine not in _memories:
        _memories[engine] = Recently()
    return _memories[engine]


def _every(ctx: MessageContext) -> timedelta:
    return timedelta(minutes=ctx.settings.raw.dm.menu_every_minutes)


def claim(ctx: MessageContext, what: str) -> bool:
    """True, and counted from the commit on, when the person was not sent ``what`` recently
    (nor earlier in this unit of work)."""
    every = _every(ctx)
    if not every:
        return True
    key = f"{what}:{ctx.message.sender}"
    session = ctx.session.sync_session
    pending: dict[str, datetime] = session.info.setdefault(PENDING, {})
    last = pending.get(key)
    if (last is not None and ctx.now - last < every) or not _memory(session).due(key, ctx.now, every):
        return False
    pending[key] = ctx.now
    session.info[PENDING + ".every"] = every
    return True


@event.listens_for(Session, "after_commit")
def _remember(session: Session) -> None:
    sent = session.info.pop(PENDING, None)
    every = session.info.pop(PENDING + ".every", None)
    if sent and every:
        _memory(session).remember(sent, every)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(PENDING + ".every", None)


def menu_data(ctx: MessageContext) -> dict[str, object]:
    """The menu's data: built once per configuration, so the renderer finds its text cached
    by identity instead of comparing the data again on every DM."""
    cached = _MENU_DATA.get(id(ctx.settings))
    if cached is None or cached[0] is not ctx.settings:
        data = {
            "platform": ctx.settings.raw.platform.name,
            "brands": [{"name": b.name, "keyword": b.keywords[0], "intro": b.intro} for b in ctx.settings.raw.brands],
        }
        cached = _MENU_DATA[id(ctx.settings)] = (ctx.settings, data)
    return cached[1]


_MENU_DATA: dict[int, tuple[object, dict[str, object]]] = {}


def _menu_or_reminder(ctx: MessageContext, *, asked: bool) -> None:
    data = menu_data(ctx)
    if claim(ctx, "menu"):
        ctx.reply("menu", data if asked else {**data, "not_understood": True})
    elif claim(ctx, "reminder") or asked:
        ctx.reply("menu_reminder", {"brands": data["brands"], "not_understood": not asked})


@router.message(private, exactly("品牌", "菜单", "帮助", "help", "menu", "?", "？"))
async def menu(ctx: MessageContext) -> None:
    _menu_or_reminder(ctx, asked=True)


@fallback.message(private)
async def not_understood(ctx: MessageContext) -> None:
    _menu_or_reminder(ctx, asked=False)


@fallback.message(group, lambda ctx: ctx.message.mentions_self)
async def mentioned(ctx: MessageContext) -> None:
    _menu_or_reminder(ctx, asked=False)

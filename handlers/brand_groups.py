"""What the brand-group routers (groups, relay, leaderboard, red packets) share: the filters
that recognise a brand group and a command in it, who may give manager commands, and the polite
refusal to anyone else. Not a router: a module of filters and reply helpers, kept in
``handlers`` because only chat handlers use them (they read a message, they decide nothing a
service would), so the routers need not import one another.

The filters hand on what they found (``bot.runtime.router``): :func:`in_brand_group` the
``room`` and its ``brand`` (:class:`~bot.base.config.BrandSettings`), :func:`group_command`
those and the parsed ``command`` (:class:`~core.group_ops.GroupCommand`) — parsed once, here.
"""

from __future__ import annotations

from bot.base.config import BrandSettings
from bot.runtime.router import Filter, Found, MessageContext, Role, role, text_message
from core.group_ops import COMMAND_NAMES, GroupCommand, parse_group_command

managers = role(Role.MANAGER, Role.OPS)


def in_brand_group(ctx: MessageContext) -> Found | None:
    """An event in a room of a configured brand group; hands on ``room`` and ``brand``."""
    return ctx.once(_brand_group)


def _brand_group(ctx: MessageContext) -> Found | None:
    room = getattr(ctx.event, "room", None)
    brand = ctx.brand_of_room() if room is not None else None
    return {"room": room, "brand": ctx.settings.brands[brand]} if brand is not None else None


def group_command(*names: str) -> Filter:
    """A text message in a brand group giving one of the commands ``names``; hands on
    ``command``, ``room`` and ``brand``. The message is parsed once, whichever route asks."""
    wanted = set(names)

    def matches(ctx: MessageContext) -> Found | None:
        found = ctx.once(_group_command)
        return found if found is not None and found["command"].name in wanted else None

    return matches


def _group_command(ctx: MessageContext) -> Found | None:
    if not text_message(ctx):
        return None
    where = in_brand_group(ctx)
    command = parse_group_command(ctx.message.text) if where else None
    return {**where, "command": command} if where and command else None


def refuse(ctx: MessageContext, command: GroupCommand, brand: BrandSettings) -> None:
    """The polite answer to a manager command from someone else."""
    ctx.reply("manager_only", {"command": COMMAND_NAMES[command.name], "brand": brand.name})


def group_name(ctx: MessageContext, room: str) -> str:
    return next((g.name for b in ctx.settings.raw.brands for g in b.groups if g.room_id == room), room)

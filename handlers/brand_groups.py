"""What the brand-group routers (groups, relay, leaderboard, red packets) share: the filters
that recognise a brand group and a command in it, who may give manager commands, and the polite
refusal to anyone else. Not a router: a module of filters and reply helpers, kept in
``handlers`` because only chat handlers use them (they read a message, they decide nothing a
service would), so the routers need not import one another.
"""

from __future__ import annotations

from bot.runtime.router import Filter, MessageContext, Role, role, text_message
from core.group_ops import COMMAND_NAMES, parse_group_command

managers = role(Role.MANAGER, Role.OPS)


def brand_of(ctx: MessageContext) -> str:
    brand = ctx.brand_of_room()
    assert brand is not None  # guaranteed by the in_brand_group filter
    return brand


def in_brand_group(ctx: MessageContext) -> bool:
    room = getattr(ctx.event, "room", None)
    return room is not None and ctx.brand_of_room() is not None


def group_command(*names: str) -> Filter:
    """A text message in a brand group giving one of the commands ``names``."""
    wanted = set(names)

    def matches(ctx: MessageContext) -> bool:
        if not (text_message(ctx) and in_brand_group(ctx)):
            return False
        command = parse_group_command(ctx.message.text)
        return command is not None and command.name in wanted

    return matches


def command_rest(ctx: MessageContext) -> str:
    command = parse_group_command(ctx.message.text)
    assert command is not None
    return command.rest


def refuse(ctx: MessageContext) -> None:
    """The polite answer to a manager command from someone else."""
    command = parse_group_command(ctx.message.text)
    word = COMMAND_NAMES[command.name] if command else ""
    ctx.reply("manager_only", {"command": word, "brand": ctx.settings.brands[brand_of(ctx)].name})


def group_name(ctx: MessageContext, room: str) -> str:
    return next((g.name for b in ctx.settings.raw.brands for g in b.groups if g.room_id == room), room)

"""The material group (素材群): "推荐" from ops or a course manager (privately, or in the
material group itself) posts the brands' recommendation now (:mod:`services.material`, which
also posts it once a day on a schedule)."""

from __future__ import annotations

from datetime import timedelta

from bot.runtime.router import MessageContext, Router, exactly, text_message
from models import marks
from services.material import queue_material_post

router = Router("material")


def _staff(ctx: MessageContext) -> bool:
    """Ops or any brand's course manager (whatever room the message came from)."""
    sender = ctx.message.sender
    return sender in ctx.settings.raw.ops or any(sender in b.managers for b in ctx.settings.raw.brands)


def _private_or_material_group(ctx: MessageContext) -> bool:
    room = ctx.message.room
    return room is None or room == ctx.settings.raw.platform.material_group


@router.message(text_message, _private_or_material_group, _staff, exactly("推荐", "发推荐", "今日推荐"))
async def recommend(ctx: MessageContext) -> None:
    material = ctx.settings.raw.material
    if ctx.settings.raw.platform.material_group is None:
        ctx.reply("material_command", {"outcome": "no_group", "count": 0, "last": ctx.now, "every": 0})
        return
    every = timedelta(minutes=material.command_every_minutes)
    key = "material-command"
    if material.command_every_minutes and not await marks.claim(ctx.session, key, ctx.now, every):
        last = await marks.last(ctx.session, key) or ctx.now
        data = {"outcome": "recent", "count": 0, "last": last, "every": material.command_every_minutes}
        ctx.reply("material_command", data)
        return
    count = queue_material_post(ctx)
    if ctx.message.room is None:  # in the group, the post itself is the answer
        ctx.reply("material_command", {"outcome": "posted", "count": count, "last": ctx.now, "every": 0})

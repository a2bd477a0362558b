"""Appeals against a removal from a brand group by moderation: the person DMs “申诉 原因” and
ops decide on the console (:func:`services.moderation.appeal`). Someone with nothing to appeal
is told so."""

from __future__ import annotations

from bot.runtime.router import MessageContext, Router, command, private
from services import moderation

router = Router("appeals")
WORD = "申诉"


@router.message(private, command(WORD))
async def appeal(ctx: MessageContext) -> None:
    message = ctx.message
    reason = message.text.strip()[len(WORD) :].strip(" ：:，,")
    case = await moderation.appeal(ctx, message.sender, reason)
    if case is None:
        ctx.reply("moderation_appeal_none", {})
        return
    ctx.reply("moderation_appeal_received", {"group": moderation.group_name(ctx.settings, case.room_id)})

"""Withdrawals by private message: “提现” shows what can be withdrawn (and why not, if so);
“提现 金额” asks for it (:mod:`services.withdrawals`, rules in :mod:`core.withdrawal`). Someone
who is not a distributor is told how to join."""

from __future__ import annotations

from decimal import Decimal

from bot.runtime.router import MessageContext, Router, command, private
from core.money import to_decimal
from models.statuses import DistributorStatus
from services import withdrawals
from services.entry import join_answer
from services.errors import Refused

router = Router("withdrawals")
WORD = "提现"


def parse_amount(rest: str) -> Decimal | None:
    """“200”, “200.50”, “200元”, “¥200” → the amount; anything else → None."""
    cleaned = rest.strip().removesuffix("元").removeprefix("¥").removeprefix("￥").strip()
    try:
        return to_decimal(cleaned) if cleaned else None
    except (ValueError, TypeError):
        return None


@router.message(private, command(WORD))
async def withdraw(ctx: MessageContext) -> None:
    person = ctx.distributor
    if person is None or person.status != DistributorStatus.ACTIVE:
        ctx.reply("how_to_join", join_answer(ctx.settings))
        return
    rest = ctx.text[len(WORD) :].strip()
    if not rest:
        pos = await withdrawals.position(ctx, person)
        blocked = pos.standing.blocked
        ctx.reply(
            "withdrawal_status",
            {
                "name": person.name,
                "available": pos.standing.available,
                "balance": pos.standing.balance,
                "pending": pos.standing.pending,
                "minimum": pos.standing.minimum,
                "open_amount": pos.standing.open_request or Decimal(0),
                "blocked": blocked.value if blocked is not None else "",
            },
        )
        return
    amount = parse_amount(rest)
    if amount is None or amount <= 0:
        ctx.reply("withdrawal_usage", {"minimum": ctx.settings.raw.withdrawals.minimum})
        return
    try:
        await withdrawals.request_withdrawal(ctx, person.id, amount)
    except Refused as refusal:
        if refusal.code == "not_an_amount":
            ctx.reply("withdrawal_usage", {"minimum": ctx.settings.raw.withdrawals.minimum})
        else:
            ctx.reply("withdrawal_refused", refusal.details)
        return
    ctx.reply("withdrawal_requested", {"name": person.name, "amount": amount})

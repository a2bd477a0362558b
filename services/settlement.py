"""The settlement pass: pending commissions whose refund window has passed become settled.

Safe to run in several processes at once: a commission settles once (a unique index on its
settled line); a pass that loses the race for a batch rolls it back and tries that batch again."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from bot.base.env import Env
from core.ledger import settle_due
from core.money import ZERO
from models import queries as q
from models.orders import LedgerLine
from services import audit

log = logging.getLogger(__name__)


async def settle_pass(env: Env, batch: int = 500) -> int:
    """Settle everything due now; returns how many commissions were settled."""
    window = env.settings.raw.settlement.refund_window_days
    settled, after_id, retries = 0, 0, 0
    while True:
        try:
            async with env.context() as ctx:
                due_before = ctx.now - timedelta(days=window)
                commissions, orders = await q.unsettled_commissions(ctx.session, due_before, after_id, batch)
                lines = settle_due(commissions, ctx.now, window)
                ctx.session.add_all(
                    LedgerLine.from_core(line, order_id=orders[int(line.commission_id)]) for line in lines
                )
                if lines:
                    audit.record(
                        ctx,
                        "money",
                        "settlement",
                        subject=f"{len(lines)} commissions",
                        after={"settled": len(lines), "amount": sum((line.amount for line in lines), ZERO)},
                    )
        except IntegrityError:
            retries += 1
            if retries > 5:
                raise
            log.info("settlement: another process settled part of this batch; trying it again")
            continue
        settled += len(lines)
        if not orders:
            return settled
        after_id = max(orders)

"""Earnings and upgrade progress by private message: "收益" and "升级".

Both answers are the ops reports (:func:`services.reports.earnings_report`,
:func:`services.reports.progress_report`) put into words: totals by status and by kind, this
month and the last five lines; each upgrade condition with a text progress bar and what is
still missing. Someone who is not a distributor is told how to join.
"""

from __future__ import annotations

from typing import Any

from bot.runtime.router import Found, MessageContext, Router, keyword, private
from core.upgrade import MONEY_METRICS, Metric
from models.people import Distributor
from models.statuses import DistributorStatus
from services.entry import join_answer
from services.reports import earnings_report, progress_report

router = Router("earnings")
LATEST = 5
BAR_WIDTH = 10


def bar(percent: int, width: int = BAR_WIDTH) -> str:
    """A text progress bar, one block per 10%, rounded down: 40 → "▓▓▓▓░░░░░░"."""
    filled = max(0, min(width, percent * width // 100))
    return "▓" * filled + "░" * (width - filled)


EARNINGS = keyword("收益", "佣金", "赚了多少")
PROGRESS = keyword("升级", "等级")


def active(ctx: MessageContext) -> Found | None:
    """The sender is an active distributor; hands on their row as ``distributor``."""
    person = ctx.distributor
    return {"distributor": person} if person is not None and person.status == DistributorStatus.ACTIVE else None


@router.message(private, EARNINGS, active)
async def earnings(ctx: MessageContext, distributor: Distributor) -> None:
    report = await earnings_report(ctx.session, ctx.settings, distributor.code, ctx.now)
    if report is None:  # not a distributor as far as the ledger knows
        ctx.reply("how_to_join", join_answer(ctx.settings))
        return
    ctx.reply(
        "earnings_dm",
        {
            "name": report["distributor"]["name"],
            "totals": report["totals"],
            "by_kind": [{"kind": kind, "amount": amount} for kind, amount in report["by_kind"].items() if amount],
            "month": report["month"],
            "this_month": report["this_month"],
            "lines": report["lines"][:LATEST],
        },
    )


@router.message(private, PROGRESS, active)
async def upgrade_progress(ctx: MessageContext, distributor: Distributor) -> None:
    report = await progress_report(ctx.session, ctx.settings, distributor.code)
    if report is None:  # not a distributor as far as the ledger knows
        ctx.reply("how_to_join", join_answer(ctx.settings))
        return
    ctx.reply("progress_dm", progress_data(ctx, report))


@router.message(private, lambda ctx: EARNINGS(ctx) or PROGRESS(ctx))
async def not_a_distributor(ctx: MessageContext) -> None:
    """Earnings or progress asked by someone who is not an active distributor."""
    ctx.reply("how_to_join", join_answer(ctx.settings))


def progress_data(ctx: MessageContext, report: dict[str, Any]) -> dict[str, Any]:
    levels = ctx.settings.levels
    following = report["next_level"]
    return {
        "name": report["distributor"]["name"],
        "level": report["level"],
        "level_name": levels[report["level"]].name if report["level"] in levels else report["level"],
        "next_level": following,
        "next_level_name": levels[following].name if following in levels else following or "",
        "eligible": report["eligible"],
        "sets": [
            {
                "completion": condition_set["completion"],
                "closest": index == report["closest"],
                "conditions": [
                    {**c, "bar": bar(c["percent"]), "money": Metric(c["metric"]) in MONEY_METRICS}
                    for c in condition_set["conditions"]
                ],
            }
            for index, condition_set in enumerate(report["sets"])
        ],
    }

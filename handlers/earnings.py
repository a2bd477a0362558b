"""Earnings and upgrade progress by private message: "收益" and "升级".

Both answers are the ops reports (:func:`services.reports.earnings_report`,
:func:`services.reports.progress_report`) put into words: totals by status and by kind, this
month and the last five lines; each upgrade condition with a text progress bar and what is
still missing. Someone who is not a distributor is told how to join.
"""

from __future__ import annotations

from typing import Any

from bot.runtime.router import MessageContext, Router, keyword, private
from core.upgrade import MONEY_METRICS, Metric
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


def _active(ctx: MessageContext) -> bool:
    return ctx.distributor is not None and ctx.distributor.status == DistributorStatus.ACTIVE


@router.message(private, keyword("收益", "佣金", "赚了多少"))
async def earnings(ctx: MessageContext) -> None:
    if not _active(ctx):
        ctx.reply("how_to_join", join_answer(ctx.settings))
        return
    assert ctx.distributor is not None
    report = await earnings_report(ctx.session, ctx.settings, ctx.distributor.code, ctx.now)
    assert report is not None
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


@router.message(private, keyword("升级", "等级"))
async def upgrade_progress(ctx: MessageContext) -> None:
    if not _active(ctx):
        ctx.reply("how_to_join", join_answer(ctx.settings))
        return
    assert ctx.distributor is not None
    report = await progress_report(ctx.session, ctx.settings, ctx.distributor.code)
    assert report is not None
    ctx.reply("progress_dm", progress_data(ctx, report))


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

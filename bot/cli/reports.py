"""``distbot earnings CODE`` and ``distbot progress CODE``: one distributor's report
(:mod:`services.reports`) as a table in both languages, or as JSON."""

from __future__ import annotations

import asyncio
import sys
import unicodedata
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.base.jsonutil import dumps
from core.money import yuan
from services.reports import ENTRY_NAMES, KIND_NAMES, METRIC_NAMES, earnings_report, progress_report


def _bilingual(names: dict[str, str], english: dict[str, str]) -> dict[str, str]:
    """Labels such as "推广销售额 promoted sales": the Chinese name, then the English (the key unless given)."""
    return {key: f"{name} {english.get(key, key)}" for key, name in names.items()}


KIND_LABELS = _bilingual(KIND_NAMES, {})
METRIC_LABELS = _bilingual(
    METRIC_NAMES,
    {
        "promoted_sales": "promoted sales",
        "self_purchase": "self-purchase",
        "direct_invites": "direct invites",
        "team_size": "team size",
        "direct_vips": "direct VIPs",
        "team_vips": "team VIPs",
    },
)
ENTRY_LABELS = _bilingual(ENTRY_NAMES, {"paid_out": "paid out"})


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def table(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """Columns padded to their widest cell, counting CJK characters as two columns."""
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []
    return [
        "  " + "  ".join(_pad(c, w, i in right) for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]


def _amount(value: Any) -> str:
    return yuan(value) if isinstance(value, Decimal) else str(value)


def earnings_text(report: dict[str, Any]) -> list[str]:
    who = report["distributor"]
    totals, lines = report["totals"], report["lines"]
    out = [f"{who['name']} ({who['code']}) · {who['level']}", "收益 earnings (元 yuan)"]
    out += table(
        [
            ["待结算 pending", _amount(totals["pending"])],
            ["已结算 settled", _amount(totals["settled"])],
            ["已取消 cancelled", _amount(totals["cancelled"])],
            ["已打款 paid out", _amount(totals["paid_out"])],
            ["余额 balance", _amount(totals["balance"])],
            [f"本月 this month ({report['month']})", _amount(report["this_month"])],
        ],
        right=(1,),
    )
    out.append("按类型 by kind")
    out += table([[KIND_LABELS[k], _amount(v)] for k, v in report["by_kind"].items()], right=(1,))
    out.append(f"最近明细 latest lines ({len(lines)})")
    if not lines:
        return [*out, "  (暂无 none yet)"]
    header = ["时间 at", "订单 order", "类型 kind", "状态 entry", "金额 amount", "课程 course"]
    body = [
        [
            line["at"].strftime("%Y-%m-%d %H:%M"),
            line["order_id"] or "—",
            KIND_LABELS.get(line["kind"], line["kind"] or "—"),
            ENTRY_LABELS.get(line["entry"], line["entry"]),
            _amount(line["amount"]),
            line["course"] or "—",
        ]
        for line in lines
    ]
    return out + table([header, *body], right=(4,))


def progress_text(report: dict[str, Any]) -> list[str]:
    who = report["distributor"]
    head = f"{who['name']} ({who['code']}) · {report['level']}"
    if report["next_level"] is None:
        return [f"{head} — 已是最高级别 already at the top level"]
    state = "已达成 eligible" if report["eligible"] else "未达成 not yet"
    out = [f"{head} → {report['next_level']}: {state}"]
    for index, condition_set in enumerate(report["sets"]):
        mark = "  ← 最接近 closest" if index == report["closest"] else ""
        out.append(f"条件组 set {index + 1}: {condition_set['completion']}%{mark}")
        rows = [
            [
                "✓" if c["met"] else "✗",
                METRIC_LABELS.get(c["metric"], c["metric"]),
                f"{_amount(c['current'])} / {_amount(c['target'])}",
                f"{c['percent']}%",
                "" if c["met"] else f"还差 missing {_amount(c['missing'])}",
            ]
            for c in condition_set["conditions"]
        ]
        out += table(rows, right=(2, 3))
    return out


async def _cli_build(config_path: str | Path | None, what: str, code: str) -> dict[str, Any] | None:
    from bot.app import build_env, prepare

    env = build_env(config_path)
    try:
        await prepare(env)
        async with env.db.reading() as session:
            if what == "earnings":
                return await earnings_report(session, env.settings, code, env.clock.now())
            return await progress_report(session, env.settings, code)
    finally:
        await env.db.dispose()


def cli_report(config_path: str | Path | None, what: str, code: str, *, as_json: bool = False) -> int:
    """Print one distributor's ``earnings`` or ``progress`` report; the exit code."""
    if what not in ("earnings", "progress"):
        raise ValueError(f"unknown report {what!r}")
    report = asyncio.run(_cli_build(config_path, what, code))
    if report is None:
        print(f"error: no distributor has the code {code!r}", file=sys.stderr)
        return 1
    if as_json:
        print(dumps(report, indent=2))
    else:
        print("\n".join(earnings_text(report) if what == "earnings" else progress_text(report)))
    return 0

"""The what-if report: one JSON-ready dict built from a replay (amounts stay ``Decimal``, shares
are decimal strings), printed as ``--json`` or as aligned tables with Chinese/English labels.

Shares: ``top_1_percent`` / ``top_10_percent`` are what the best-paid ⌈1%⌉ / ⌈10%⌉ of the
distributors earned over the total, to 4 decimals (0.5524 = 55.24%); ``gini`` to 3 decimals.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.base.config import Settings, load_settings
from bot.base.jsonutil import dumps
from bot.cli.reports import KIND_LABELS, table
from core.money import is_fen_exact, to_decimal, yuan
from core.plan import CommissionPlan
from core.whatif import Replay
from core.whatif_stats import as_decimal, biggest_changes, concentration
from services.errors import Invalid, ServiceError
from services.whatif import Inputs, gather

TOP_CHANGES = 10
UPGRADES_SHOWN = 30  # in the table; --json has them all
EVENT_LABELS = {"paid": "支付 paid", "refunded": "退款 refunded", "qualified": "合格 qualified"}
EVENT_LABELS["checkin_completed"] = "打卡完成 check-ins done"


def build_report(
    settings: Settings,
    result: Replay,
    inputs: Inputs,
    plans: Sequence[CommissionPlan],
    levels_at: datetime | None,
    below: Decimal,
) -> dict[str, Any]:
    zone = ZoneInfo(settings.raw.platform.timezone)
    local = _local(zone)
    population = result.population
    entry = settings.level_codes[0]
    late = sum(1 for m in inputs.members if m.joined_at and levels_at and m.joined_at > levels_at)
    reached = sum(
        1
        for m in inputs.members
        if levels_at and not (m.joined_at and m.joined_at > levels_at) and inputs.level_since[m.id] > levels_at
    )
    first, last = inputs.span.first, inputs.span.last
    report: dict[str, Any] = {
        "source": inputs.source,
        "timezone": settings.raw.platform.timezone,
        "window": {
            "from": local(result.start),
            "to": local(result.until),
            "first_event": local(first),
            "last_event": local(last),
        },
        "events": {"replayed": result.replayed, "warm_up": result.warm_up, "skipped": result.skipped},
        "csv_rejected": [{"line": line, "reason": why} for line, why in inputs.rejected],
        "orders": result.orders,
        "attributed": result.attributed,
        "distributors": len(population),
        "pool": result.pool,
        "margin": result.margin,
        "starting_levels": {
            "at": local(levels_at),
            "rule": f"current level; entry level {entry} for those who joined after the start",
            "joined_after_start": late,
            "level_reached_after_start": reached,  # they start at it: their climb to it is taken as given
        },
        "plans": [],
        "upgrades": [
            {"at": local(up.at), **_who(inputs, up.person), "from": up.from_level, "to": up.to_level}
            for up in result.upgrades
        ],
        "changes": [],
    }
    for outcome in result.plans:
        spread = concentration(outcome.earnings, population, below)
        report["plans"].append(
            {
                "name": outcome.plan.name,
                "model": outcome.plan.model,
                "paid": outcome.paid,
                "platform": {
                    "pool_kept": outcome.pool_kept,
                    "margin_kept": outcome.margin_kept,
                    "total": outcome.platform,
                },
                "by_level": outcome.by_level,
                "by_kind": {kind.value: amount for kind, amount in outcome.by_kind.items()},
                "concentration": {
                    "top_1_percent": str(as_decimal(spread.top_1, 4)),
                    "top_10_percent": str(as_decimal(spread.top_10, 4)),
                    "gini": str(as_decimal(spread.gini, 3)),
                    "lorenz": [[str(as_decimal(x, 4)), str(as_decimal(y, 4))] for x, y in spread.lorenz],
                },
                "earned_nothing": spread.nothing,
                "below": {"amount": below, "count": spread.below},
            }
        )
    base = result.plans[0]
    for other in result.plans[1:]:
        top = biggest_changes(base.earnings, other.earnings, population, TOP_CHANGES)
        report["changes"].append(
            {
                "from_plan": base.plan.name,
                "to_plan": other.plan.name,
                "top": [
                    {
                        **_who(inputs, c.person),
                        "level": result.levels[c.person],
                        "before": c.before,
                        "after": c.after,
                        "change": c.delta,
                    }
                    for c in top
                ],
            }
        )
    return report


def _local(zone: ZoneInfo) -> Callable[[datetime | None], datetime | None]:
    return lambda moment: moment.astimezone(zone) if moment is not None else None


def _who(inputs: Inputs, person: str) -> dict[str, str]:
    code, name = inputs.people.get(person, (person, person))
    return {"code": code, "name": name}


# --- the terminal ---------------------------------------------------------------------------------


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "—"


def _percent(share: str) -> str:
    return f"{Decimal(share) * 100:.1f}%"


def text(report: dict[str, Any]) -> list[str]:
    plans = report["plans"]
    window = report["window"]
    start = window["from"] or window["first_event"]
    levels = report["starting_levels"]
    span = f"{_when(start)} → {_when(window['to'] or window['last_event'])}" if start else "无事件 no events"
    out = [
        f"计划模拟 plan what-if: {span} ({report['timezone']})",
        f"来源 source: {report['source']}",
        "事件 events: "
        + (", ".join(f"{n:,} {EVENT_LABELS.get(t, t)}" for t, n in report["events"]["replayed"].items()) or "0")
        + f"; 预热 warm-up {report['events']['warm_up']:,}"
        + f"; 跳过 skipped {sum(report['events']['skipped'].values()):,}"
        + "".join(f" ({n:,} {why})" for why, n in report["events"]["skipped"].items()),
        f"订单 orders {report['orders']:,} (有分销员 attributed {report['attributed']:,}) · 分销员 distributors"
        f" {report['distributors']:,} · 佣金池 pool {yuan(report['pool'])} · 毛利 margin {yuan(report['margin'])}"
        " (元 yuan)",
        f"起始级别 starting levels at {_when(levels['at'])}: {levels['rule']} ({levels['joined_after_start']} such)",
    ]
    if levels["level_reached_after_start"]:
        out.append(
            f"  注意 note: {levels['level_reached_after_start']} reached their current level after the start;"
            " they start at it (the database keeps no level history)"
        )
    if report["csv_rejected"]:
        out.append(f"CSV 未用行 lines left out: {len(report['csv_rejected'])} (see stderr)")
    rows: list[list[str]] = [["", *[p["name"] for p in plans]]]
    rows.append(["分给分销员 paid to distributors", *[yuan(p["paid"]) for p in plans]])
    rows.append(["平台留存佣金池 platform kept, pool", *[yuan(p["platform"]["pool_kept"]) for p in plans]])
    rows.append(["平台留存毛利 platform kept, margin", *[yuan(p["platform"]["margin_kept"]) for p in plans]])
    rows.append(["平台合计 platform total", *[yuan(p["platform"]["total"]) for p in plans]])
    for level in plans[0]["by_level"]:
        rows.append([f"级别 level {level}", *[yuan(p["by_level"][level]) for p in plans]])
    for kind in plans[0]["by_kind"]:
        rows.append([KIND_LABELS.get(kind, kind), *[yuan(p["by_kind"][kind]) for p in plans]])
    rows.append(["前1% top 1% share", *[_percent(p["concentration"]["top_1_percent"]) for p in plans]])
    rows.append(["前10% top 10% share", *[_percent(p["concentration"]["top_10_percent"]) for p in plans]])
    rows.append(["基尼系数 Gini", *[p["concentration"]["gini"] for p in plans]])
    rows.append(["零收益 earned nothing", *[f"{p['earned_nothing']:,}" for p in plans]])
    below = yuan(plans[0]["below"]["amount"])
    rows.append([f"低于 below {below} (含零 incl. nothing)", *[f"{p['below']['count']:,}" for p in plans]])
    out += table(rows, right=range(1, len(plans) + 1))
    upgrades = report["upgrades"]
    out.append(
        f"升级 upgrades: {len(upgrades):,} (每个计划相同 the same under every plan:"
        " no upgrade condition counts commission)"
    )
    if not upgrades:
        out.append("  (无 none)")
    out += table(
        [[_when(u["at"]), f"{u['name']} ({u['code']})", f"{u['from']} → {u['to']}"] for u in upgrades[:UPGRADES_SHOWN]]
    )
    if len(upgrades) > UPGRADES_SHOWN:
        out.append(f"  … 另有 and {len(upgrades) - UPGRADES_SHOWN:,} more (--json lists them all)")
    for change in report["changes"]:
        out.append(f"变化最大 biggest changes: {change['from_plan']} → {change['to_plan']}")
        if not change["top"]:
            out.append("  (无变化 nobody's earnings change)")
            continue
        header = ["分销员 distributor", "级别 level", change["from_plan"], change["to_plan"], "变化 change"]
        body = [
            [f"{c['name']} ({c['code']})", c["level"], yuan(c["before"]), yuan(c["after"]), _signed(c["change"])]
            for c in change["top"]
        ]
        out += table([header, *body], right=(2, 3, 4))
    return out


def _signed(amount: Decimal) -> str:
    return f"+{yuan(amount)}" if amount > 0 else yuan(amount)


# --- the command ----------------------------------------------------------------------------------


def cli_whatif(
    config: str | Path | None,
    names: Sequence[str],
    *,
    plans_file: Path | None = None,
    orders: Path | None = None,
    first: str | None = None,
    last: str | None = None,
    as_json: bool = False,
    chart: Path | None = None,
    below: str = "100.00",
    progress: bool = True,
) -> int:
    """``distbot whatif``: print the report (table or JSON), draw the chart; the exit code.
    A bad configuration or plans file raises ConfigError (the CLI prints it, exit 1)."""
    from bot.cli.whatif_chart import render_chart

    settings = load_settings(config)
    try:
        threshold = _threshold(below)
        result, inputs, plans, levels_at = gather(settings, names, plans_file, orders, first, last, progress=progress)
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line, why in inputs.rejected:
        print(f"warning: {inputs.source}, line {line}: {why}; left out of the replay", file=sys.stderr)
    report = build_report(settings, result, inputs, plans, levels_at, threshold)
    if chart is not None:
        try:
            render_chart(report, chart)
        except (OSError, ValueError) as exc:
            print(f"error: cannot write the chart to {chart}: {exc}", file=sys.stderr)
            return 1
        report["chart"] = str(chart)
    if as_json:
        print(dumps(report, indent=2))
    else:
        print("\n".join(text(report)))
        if chart is not None:
            print(f"图表 chart: {chart}")
    return 0


def _threshold(text: str) -> Decimal:
    try:
        amount = to_decimal(text)
    except (TypeError, ValueError):
        amount = Decimal(-1)
    if amount < 0 or not is_fen_exact(amount):
        raise Invalid(f"--below must be an amount in yuan, 0 or more, e.g. 100.00; not {text!r}")
    return amount

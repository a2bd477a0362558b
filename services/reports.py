"""The ops reports: a distributor's earnings and upgrade progress, a brand's leaderboard and
stock. One function builds each report as plain JSON-ready data (Decimal amounts, aware
datetimes in the platform's timezone); the ops API (``bot.web.ops_api``) serves them, the CLI
(``distbot earnings|progress CODE [--json]``, ``bot.cli.reports``) prints them, the console
and the chat answers show them.

Example: a C sold one 399.00 course an hour ago → earnings ``{"totals": {"pending": "144.00",
"settled": "0.00", "cancelled": "0.00"}, "by_kind": {"seller": "144.00", …}, …}``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.config import Settings
from core.commission import Kind
from core.group_ops import next_threshold
from core.ledger import Entry, LedgerLine, Reason, summarize
from core.money import ZERO, to_fen
from core.privacy import mask_name
from core.upgrade import MONEY_METRICS, ConditionProgress, Metric, progress
from models import boards
from models import queries as q
from models.catalog import Brand
from models.orders import LedgerLine as LedgerRow
from models.people import Distributor

PERIODS = ("today", "week", "month", "push", "all")
METRICS = boards.LEADERBOARD_METRICS
LATEST_LINES = 20


def local_zone(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.raw.platform.timezone)


def _person(distributor: Distributor) -> dict[str, str]:
    return {"code": distributor.code, "name": distributor.name, "level": distributor.level}


async def _distributor(session: AsyncSession, code: str) -> Distributor | None:
    return await q.distributor_by_code(session, code.strip().upper())


def _commission_of(row: LedgerRow) -> int | None:
    """The commission a stored line belongs to: an earned line is its own; a payout has none."""
    if row.commission_id is not None:
        return row.commission_id
    return None if row.entry == Entry.PAID_OUT else row.id


def core_line(row: LedgerRow) -> LedgerLine[int | None]:
    """A stored ledger row as the core's ledger line."""
    return LedgerLine(
        commission_id=_commission_of(row),
        payee=str(row.distributor_id),
        kind=Kind(row.kind) if row.kind else None,
        entry=Entry(row.entry),
        amount=row.amount,
        reason=Reason(row.reason),
        at=row.at,
    )


async def earnings_report(session: AsyncSession, settings: Settings, code: str, now: datetime) -> dict[str, Any] | None:
    """Totals by status and by kind, this month's earnings (platform timezone) and the latest
    ledger lines, newest first; None when no distributor has ``code``."""
    person = await _distributor(session, code)
    if person is None:
        return None
    zone = local_zone(settings)
    local_now = now.astimezone(zone)
    rows = await q.ledger_with_courses(session, person.id)
    lines = [core_line(row) for row, _course in rows]
    earnings = summarize(lines, local_now)
    latest = [
        {
            "at": line.at.astimezone(zone),
            "order_id": row.order_id,
            "kind": line.kind.value if line.kind else None,
            "entry": line.entry.value,
            "amount": line.amount,
            "reason": line.reason.value,
            "course": course,
        }
        for line, (row, course) in reversed(list(zip(lines, rows, strict=True))[-LATEST_LINES:])
    ]
    zero = ZERO
    return {
        "distributor": _person(person),
        "totals": {
            "pending": earnings.pending,
            "settled": earnings.settled,
            "cancelled": earnings.cancelled,
            "paid_out": earnings.paid_out,
            "balance": earnings.balance,
        },
        "by_kind": {kind.value: earnings.by_kind.get(kind, zero) for kind in Kind},
        "month": local_now.strftime("%Y-%m"),
        "this_month": earnings.this_month,
        "lines": latest,
    }


def _measure(metric: Metric, value: Decimal) -> Decimal | int:
    """Money metrics as yuan to the fen; counts as whole numbers."""
    return to_fen(value) if metric in MONEY_METRICS else int(value)


def _condition(c: ConditionProgress) -> dict[str, Any]:
    return {
        "metric": c.metric.value,
        "current": _measure(c.metric, c.current),
        "target": _measure(c.metric, c.target),
        "percent": c.percent,
        "missing": _measure(c.metric, c.missing),
        "met": c.met,
    }


async def progress_report(session: AsyncSession, settings: Settings, code: str) -> dict[str, Any] | None:
    """How far the distributor is from the next level: every alternative condition set, the
    closest one marked by index; ``completion`` is a whole percent (0–100, rounded down)."""
    person = await _distributor(session, code)
    if person is None:
        return None
    metrics = await q.distributor_metrics(session, person.id, sorted(settings.vip_levels))
    result = progress(person.level, metrics, settings.upgrades)
    return {
        "distributor": _person(person),
        "level": result.level,
        "next_level": result.next_level,
        "eligible": result.eligible,
        "closest": result.closest,
        "sets": [
            {
                "met": s.met,
                "completion": int(s.completion * 100),
                "conditions": [_condition(c) for c in s.conditions],
            }
            for s in result.sets
        ],
    }


def period_start(period: str, local_now: datetime) -> datetime | None:
    """Where ``today`` / ``week`` (from Monday) / ``month`` start in the local timezone of
    ``local_now``; None for ``all``."""
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "today":
        return midnight
    if period == "week":
        return (local_now - timedelta(days=local_now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        return midnight.replace(day=1)
    if period == "all":
        return None
    raise ValueError(f"unknown period {period!r}; one of {', '.join(PERIODS)}")


async def leaderboard_report(
    session: AsyncSession,
    settings: Settings,
    brand_id: str,
    period: str,
    metric: str,
    limit: int | None,
    now: datetime,
) -> dict[str, Any] | None:
    """The brand's sellers ranked by ``metric`` over ``period`` (names masked, no codes);
    equal values share a rank (1, 2, 2, 4); ``limit`` None ranks everyone. None when the
    brand is unknown.

    ``push`` ranks the lines the brand's open (else latest) relay push posted — exactly the
    orders the group saw relayed, whatever time the shop says they were paid — so the board
    in the group, this report and the final list at the end agree line for line."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; one of {', '.join(PERIODS)}")
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
    brand = await session.get(Brand, brand_id)
    if brand is None:
        return None
    zone = local_zone(settings)
    local_now = now.astimezone(zone)
    report: dict[str, Any] = {
        "brand": {"id": brand.id, "name": brand.name},
        "period": period,
        "metric": metric,
        "from": None,
        "to": None,
        "push": None,
        "rows": [],
    }
    since: datetime | None
    until: datetime | None = None
    if period == "push":
        push = await boards.latest_push(session, brand.id)
        if push is None:
            return report
        since, until = push.started_at, push.ended_at or now
        report["push"] = {
            "id": push.id,
            "title": push.title,
            "started_at": push.started_at.astimezone(zone),
            "ended_at": push.ended_at.astimezone(zone) if push.ended_at else None,
            "open": push.ended_at is None,
            "lines": push.line_count,
        }
        ranked = await boards.push_leaderboard(session, push.id, metric, limit)
    else:
        since = period_start(period, local_now)
        ranked = await boards.brand_leaderboard(session, brand.id, metric, since, until, limit)
    report["from"] = since.astimezone(zone) if since else None
    report["to"] = until.astimezone(zone) if until else None
    rows: list[dict[str, Any]] = []
    for position, (name, value) in enumerate(ranked, start=1):
        rank = rows[-1]["rank"] if rows and rows[-1]["value"] == value else position
        rows.append({"rank": rank, "seller": mask_name(name), "value": value})
    report["rows"] = rows
    return report


async def stock_report(session: AsyncSession, settings: Settings, brand_id: str) -> dict[str, Any] | None:
    """Each course's stock (None: unlimited), its red-packet thresholds, the next one to be
    crossed, the red packets of the current stock epoch, and the brand's unpaid count."""
    brand = await session.get(Brand, brand_id)
    if brand is None:
        return None
    zone = local_zone(settings)
    packets: dict[str, list[dict[str, Any]]] = {}
    for packet in await q.current_threshold_red_packets(session, brand.id):
        packets.setdefault(packet.course_sku or "", []).append(
            {
                "threshold": packet.threshold,
                "created_at": packet.created_at.astimezone(zone),
                "paid": bool(packet.paid_at),
            }
        )
    courses = []
    for course in await q.brand_courses(session, brand.id):
        thresholds = list(course.red_packet_thresholds or [])
        courses.append(
            {
                "sku": course.sku,
                "name": course.name,
                "stock": course.stock,
                "thresholds": thresholds,
                "next_threshold": next_threshold(course.stock, thresholds),
                "red_packets": packets.get(course.sku, []),
            }
        )
    return {
        "brand": {"id": brand.id, "name": brand.name},
        "courses": courses,
        "unpaid_red_packets": await q.unpaid_red_packet_count(session, brand.id),
    }


async def groups_report(session: AsyncSession, settings: Settings, brand_id: str) -> dict[str, Any] | None:
    """The brand's groups in fill order: members as the room's member list last showed them,
    capacity, and ``full_at`` (the count at which the next group takes newcomers)."""
    brand = await session.get(Brand, brand_id)
    if brand is None:
        return None
    rollover = settings.raw.brand_groups.rollover_at
    groups = [
        {
            "room": group.room_id,
            "name": group.name,
            "members": members,
            "capacity": group.capacity,
            "full_at": min(group.capacity, rollover),
        }
        for group, members in await q.group_sizes(session, brand.id)
    ]
    return {"brand": {"id": brand.id, "name": brand.name}, "groups": groups}


# What the console and messages call things (Chinese only); the CLI prints both languages.
KIND_NAMES = {"seller": "销售佣金", "management": "管理佣金", "invite": "邀请佣金", "partner": "平台分成"}
METRIC_NAMES = {
    "promoted_sales": "推广销售额",
    "customers": "客户数",
    "self_purchase": "自购金额",
    "direct_invites": "直接邀请",
    "team_size": "团队人数",
    "direct_vips": "直属VIP",
    "team_vips": "团队VIP",
}
ENTRY_NAMES = {"earned": "入账", "cancelled": "取消", "settled": "结算", "adjusted": "调整", "paid_out": "打款"}

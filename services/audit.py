"""The audit log's one way in (:func:`record`) and its reading (:func:`entries`).

Every use case that changes money, membership, stock, codes, sessions or settings calls
:func:`record` once, in its own unit of work, with what it acted on and the state before and
after; who acted and from where come from the context (``ctx.actor``, set by the entry point:
the console's user, the API's ``by``, the CLI's user, the chat's sender, or the system). So a
stock change is recorded the same whether a manager typed “库存 SKU 200” in the group or set it
on the console, and recorded once.

Example: ``record(ctx, "stock", "stock.set", subject="XH-MATH-S1", brand_id="xinghuo",
before={"stock": 120}, after={"stock": 200})`` by the console user ``xiaomei`` writes one row
(xiaomei, ops, console, stock, stock.set, xinghuo, XH-MATH-S1, {"stock": 120} → {"stock": 200}).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.config import Settings
from bot.base.context import Actor, Context
from models.audit import AuditEntry
from services.reports import local_zone

KINDS = ("money", "membership", "stock", "codes", "sessions", "settings", "moderation")
PAGE = 100


def _plain(value: Any) -> Any:
    """JSON-safe: money as its exact string, times as ISO, enums as their values."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def record(
    ctx: Context,
    kind: str,
    action: str,
    *,
    subject: str = "",
    brand_id: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str = "",
    actor: Actor | None = None,
) -> AuditEntry:
    """Append one entry for ``actor`` (by default ``ctx.actor``, who the entry point acts for)
    at ``ctx.now``, written with the unit of work."""
    if kind not in KINDS:
        raise ValueError(f"unknown audit kind {kind!r}")
    actor = actor or ctx.actor
    entry = AuditEntry(
        at=ctx.now,
        actor=actor.name[:128],
        actor_role=actor.role[:16],
        source=actor.source[:16],
        kind=kind,
        action=action,
        brand_id=brand_id,
        subject=subject[:200],
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        note=note[:1000],
    )
    ctx.session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditFilter:
    """What to show: by actor (exact), kind, brand, and a period of platform days (inclusive).
    ``brands`` limits the entries to those brands (a manager's view) when not None."""

    actor: str | None = None
    kind: str | None = None
    brand_id: str | None = None
    since: date | None = None
    until: date | None = None
    brands: Sequence[str] | None = None
    before_id: int | None = None  # paging: entries older than this one


def _query(settings: Settings, f: AuditFilter) -> Select[AuditEntry]:
    zone = local_zone(settings)
    query = select(AuditEntry)
    if f.actor:
        query = query.where(AuditEntry.actor == f.actor)
    if f.kind:
        query = query.where(AuditEntry.kind == f.kind)
    if f.brand_id:
        query = query.where(AuditEntry.brand_id == f.brand_id)
    if f.brands is not None:
        query = query.where(AuditEntry.brand_id.in_(list(f.brands)))
    if f.since is not None:
        query = query.where(AuditEntry.at >= datetime.combine(f.since, time(0), zone))
    if f.until is not None:
        query = query.where(AuditEntry.at < datetime.combine(f.until + timedelta(days=1), time(0), zone))
    if f.before_id is not None:
        query = query.where(AuditEntry.id < f.before_id)
    return query.order_by(AuditEntry.id.desc()).limit(PAGE)


def view(entry: AuditEntry, settings: Settings) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.astimezone(local_zone(settings)),
        "actor": entry.actor,
        "actor_role": entry.actor_role,
        "source": entry.source,
        "kind": entry.kind,
        "action": entry.action,
        "brand_id": entry.brand_id,
        "subject": entry.subject,
        "before": entry.before,
        "after": entry.after,
        "note": entry.note,
    }


async def entries(session: AsyncSession, settings: Settings, f: AuditFilter) -> list[dict[str, Any]]:
    """The newest :data:`PAGE` entries matching ``f``, newest first."""
    return [view(e, settings) for e in await session.scalars(_query(settings, f))]

"""Group-moderation rules as ops and course managers edit them on the console, over
config.yaml's.

Two kinds of scope: ``platform`` (ops only: on or off, the platform-wide words and limits, and
the escalation — strikes to removal within a window) and each brand (ops, or that brand's course
managers: words added to the platform's, and overrides of its limits). An edit keeps only the
keys it sets; a key left out keeps config.yaml's value, and a reset forgets the edit. Every edit
and reset is in the audit log with the scope's rules before and after; a wrong value is refused
with every problem named and nothing written.

Example: config.yaml removes at 3 strikes within 24 h. Ops set 2 strikes within 12 h on the
console: the next strike in any brand group is judged with 2 within 12 h, the audit log shows
``strikes_to_remove 3 → 2, window_hours 24 → 12``; a reset brings back 3 within 24 h.

The pre-routing stage reads the rules through :class:`RulesCache`: in the process that edited
them at once (after the commit), in other processes within :data:`REFRESH`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.config import ModerationLimits, ModerationSettings, Settings, moderation_policies
from bot.base.context import Context
from core.moderation import Policy
from models.moderation import ModerationRules
from services import audit
from services.errors import Invalid, NotFound

PLATFORM = "platform"
LIMIT_KEYS = ("words", "links", "qr_codes", "cards", "max_mentions", "flood_messages", "flood_seconds")
ESCALATION_KEYS = ("enabled", "strikes_to_remove", "window_hours")
LABELS = {
    "enabled": "群管理开关",
    "words": "违规词",
    "links": "禁止链接",
    "qr_codes": "禁止二维码图片",
    "cards": "禁止名片",
    "max_mentions": "一次最多@人数",
    "flood_messages": "刷屏条数",
    "flood_seconds": "刷屏时间窗（秒）",
    "strikes_to_remove": "移出前违规次数",
    "window_hours": "违规累计时间窗（小时）",
}
MAX_WORDS = 500
REFRESH = timedelta(seconds=30)  # how soon another process sees an edit


@dataclass(frozen=True)
class Rules:
    """The rules in force: config.yaml's with the console's edits applied."""

    platform: ModerationSettings
    brands: Mapping[str, ModerationLimits]  # each brand's own words and overrides
    policies: Mapping[str, Policy]
    edited: Mapping[str, ModerationRules] = field(default_factory=dict)  # scope → its edit

    @property
    def enabled(self) -> bool:
        return self.platform.enabled

    def policy(self, brand_id: str) -> Policy:
        return self.policies[brand_id]

    def of(self, scope: str) -> dict[str, Any]:
        """One scope's rules as they read on the console and in the audit log."""
        if scope == PLATFORM:
            p = self.platform
            return {
                "enabled": p.enabled,
                **p.rules.model_dump(include=set(LIMIT_KEYS)),
                "strikes_to_remove": p.strikes_to_remove,
                "window_hours": p.window_hours,
            }
        return self.brands[scope].model_dump(include=set(LIMIT_KEYS))


def apply(settings: Settings, edits: Mapping[str, Mapping[str, Any]]) -> Rules:
    """config.yaml's rules with ``edits`` (scope → the keys it sets) applied; raises
    :class:`Invalid` naming every wrong value."""
    m = settings.raw.moderation
    problems: list[str] = []
    own = edits.get(PLATFORM, {})
    platform = _validated(
        ModerationSettings,
        {
            **m.model_dump(),
            **{k: own[k] for k in ESCALATION_KEYS if k in own},
            "rules": {**m.rules.model_dump(), **{k: own[k] for k in LIMIT_KEYS if k in own}},
        },
        problems,
    )
    brands: dict[str, ModerationLimits] = {}
    for brand in settings.raw.brands:
        mine = edits.get(brand.id, {})
        data = {**brand.moderation.model_dump(), **{k: mine[k] for k in LIMIT_KEYS if k in mine}}
        checked = _validated(ModerationLimits, data, problems)
        if checked is not None:
            brands[brand.id] = checked
    if problems or platform is None:
        raise Invalid(problems)
    return Rules(platform, brands, moderation_policies(platform, brands))


def _validated(model: Any, data: dict[str, Any], problems: list[str]) -> Any:
    words = data.get("words") or data.get("rules", {}).get("words") or []
    if len(words) > MAX_WORDS:
        problems.append(f"违规词最多 {MAX_WORDS} 个")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        for e in error.errors():
            key = next((str(part) for part in reversed(e["loc"]) if str(part) in LABELS), "")
            problems.append(f"{LABELS.get(key, key or '规则')}：{_meaning(e)}")
        return None


def _meaning(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind.startswith("greater_than"):
        return f"至少为 {error.get('ctx', {}).get('ge', 1)}"
    if kind.startswith("less_than"):
        return f"至多为 {error.get('ctx', {}).get('le')}"
    if kind.startswith("int") or kind.startswith("bool"):
        return "请填写整数" if kind.startswith("int") else "请选择是或否"
    return "格式不对"


async def load(session: AsyncSession, settings: Settings) -> Rules:
    """The rules in force now, read from the database."""
    rows = {row.scope: row for row in await session.scalars(select(ModerationRules))}
    edits = {scope: row.rules for scope, row in rows.items()}
    try:
        rules = apply(settings, edits)
    except Invalid:  # config.yaml changed under an old edit: the edit no longer applies
        rules = apply(settings, {})
    return Rules(rules.platform, rules.brands, rules.policies, rows)


def scopes(settings: Settings) -> tuple[str, ...]:
    return (PLATFORM, *(b.id for b in settings.raw.brands))


async def edit(ctx: Context, scope: str, changes: Mapping[str, Any]) -> Rules:
    """Set ``changes`` (keys of :data:`LIMIT_KEYS`, and for the platform :data:`ESCALATION_KEYS`)
    in ``scope``; a brand key set to None follows the platform again. Audited; the rules after."""
    if scope not in scopes(ctx.settings):
        raise NotFound(f"no moderation scope {scope!r}")
    allowed = LIMIT_KEYS + (ESCALATION_KEYS if scope == PLATFORM else ())
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise Invalid([f"不能设置：{', '.join(unknown)}"])
    before = await load(ctx.session, ctx.settings)
    row = before.edited.get(scope)
    kept = dict(row.rules) if row is not None else {}
    kept.update(changes)
    edits = {s: dict(r.rules) for s, r in before.edited.items()}
    edits[scope] = kept
    after = apply(ctx.settings, edits)  # raises Invalid: nothing written
    now_in_force = after.of(scope)
    kept = {k: now_in_force[k] if v is not None else None for k, v in kept.items()}  # as validated
    if row is None:
        row = ModerationRules(scope=scope, rules=kept)
        ctx.session.add(row)
    row.rules, row.updated_at, row.updated_by = kept, ctx.now, ctx.actor.name[:128]
    _audited(ctx, "moderation_rules_edited", scope, before, after)
    _refreshed_after_commit(ctx)
    return after


async def reset(ctx: Context, scope: str) -> Rules:
    """Forget the console's edit of ``scope``: config.yaml's rules again. Audited."""
    if scope not in scopes(ctx.settings):
        raise NotFound(f"no moderation scope {scope!r}")
    before = await load(ctx.session, ctx.settings)
    if scope not in before.edited:
        return before
    await ctx.session.execute(delete(ModerationRules).where(ModerationRules.scope == scope))
    after = apply(ctx.settings, {s: r.rules for s, r in before.edited.items() if s != scope})
    _audited(ctx, "moderation_rules_reset", scope, before, after)
    _refreshed_after_commit(ctx)
    return after


def _audited(ctx: Context, action: str, scope: str, before: Rules, after: Rules) -> None:
    old, new = before.of(scope), after.of(scope)
    changed = [k for k in new if old.get(k) != new.get(k)]
    audit.record(
        ctx,
        "settings",
        action,
        subject=f"群管理规则 {scope}",
        brand_id=None if scope == PLATFORM else scope,
        before={k: old[k] for k in changed},
        after={k: new[k] for k in changed},
    )


def _refreshed_after_commit(ctx: Context) -> None:
    cache = ctx.kept(RulesCache)
    ctx.uow.after_commit(cache.forget)


class RulesCache:
    """The rules in force, read at most every :data:`REFRESH` (by the message's clock) or at
    once after an edit committed in this process; one per process (``ctx.kept``)."""

    def __init__(self) -> None:
        self.rules: Rules | None = None
        self.read_at: datetime | None = None

    def forget(self) -> None:
        self.rules = None

    async def current(self, session: AsyncSession, settings: Settings, now: datetime) -> Rules:
        stale = self.read_at is None or not (self.read_at <= now < self.read_at + REFRESH)
        if self.rules is None or stale:
            self.rules, self.read_at = await load(session, settings), now
        return self.rules

"""The console's group-moderation rules (群规设置): ops edit the platform-wide rules and the
escalation, and any brand's words and overrides; a course manager edits their own brands'.
Each edit keeps what it sets over config.yaml's; a reset forgets it. Through
``services.moderation_rules``, audited with before and after."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bot.console.auth import User
from bot.console.base import Form, error_page, not_found, page, render, see_other
from bot.web.keys import ENV
from services import moderation_rules
from services.errors import Invalid, NotFound
from services.moderation_rules import ESCALATION_KEYS, LIMIT_KEYS, PLATFORM

routes = web.RouteTableDef()
SWITCHES = ("links", "qr_codes", "cards")
NUMBERS = ("max_mentions", "flood_messages", "flood_seconds", "strikes_to_remove", "window_hours")
_WORD_SEPARATORS = re.compile(r"[\n\r,，、;；]+")


def may_edit(user: User, scope: str) -> bool:
    return user.is_ops or (scope != PLATFORM and user.sees_brand(scope))


@routes.get("/console/moderation/rules")
@page()
async def rules_page(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    env = request.app[ENV]
    async with env.db.reading() as session:
        rules = await moderation_rules.load(session, env.settings)
    scopes = [s for s in moderation_rules.scopes(env.settings) if may_edit(user, s) or s == PLATFORM]
    return render(
        request,
        "moderation_rules.html",
        user,
        section="moderation",
        rules=rules,
        scopes=scopes,
        editable={s: may_edit(user, s) for s in scopes},
        brand_names={b.id: b.name for b in env.settings.raw.brands},
        platform=PLATFORM,
    )


@routes.post("/console/moderation/rules/{scope}")
@page()
async def edit_rules(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    scope = request.match_info["scope"]
    if not may_edit(user, scope):
        if scope == PLATFORM:
            return error_page(request, user, 403, "平台群规和处罚升级只能由运营修改。")
        return not_found(request, user)
    try:
        async with request.app[ENV].context(user.actor) as ctx:
            if form.get("reset"):
                await moderation_rules.reset(ctx, scope)
            else:
                await moderation_rules.edit(ctx, scope, changes(form, scope))
    except NotFound:
        return not_found(request, user)
    except Invalid as refusal:
        return error_page(request, user, 422, "；".join(refusal.problems) + "。未保存任何修改。")
    done = "moderation_rules_reset" if form.get("reset") else "moderation_rules_saved"
    raise see_other(f"/console/moderation/rules?ok={done}#rules-{scope}")


def changes(form: Form, scope: str) -> dict[str, Any]:
    """The form's values as the service takes them. The platform's switches are checkboxes and
    its empty numbers mean “no limit”; a brand's switches and numbers left empty follow the
    platform. Numbers stay text here: the service checks them and names what is wrong."""
    platform = scope == PLATFORM
    words = [w.strip() for w in _WORD_SEPARATORS.split(str(form.get("words", ""))) if w.strip()]
    values: dict[str, Any] = {"words": list(dict.fromkeys(words))}
    for key in SWITCHES:
        raw = str(form.get(key, "")).strip()
        values[key] = raw in ("1", "on") if platform else {"1": True, "0": False}.get(raw)
    for key in NUMBERS:
        if key in LIMIT_KEYS or platform:
            raw = str(form.get(key, "")).strip()
            values[key] = raw or None
    if platform:
        values["enabled"] = str(form.get("enabled", "")) in ("1", "on")
    allowed = LIMIT_KEYS + (ESCALATION_KEYS if platform else ())
    return {k: v for k, v in values.items() if k in allowed}

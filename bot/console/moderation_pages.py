"""The console's group-moderation page (群管理): removals with their appeals, and the strikes
behind them. Ops decide (undo: strikes cleared and the person invited back; uphold, saying
why) and take back a single strike; a brand manager sees their brands' cases and strikes.
Decisions go through ``services.moderation``, the same as the API, and are in the audit log."""

from __future__ import annotations

from aiohttp import web

from bot.console.auth import User
from bot.console.base import Form, error_page, ident, not_found, page, render, see_other
from bot.web.keys import ENV
from models.statuses import ModerationStatus
from services import moderation, moderation_rules
from services.errors import Conflict, Invalid, NotFound

routes = web.RouteTableDef()
STATUSES = {
    ModerationStatus.REMOVED: "已移出",
    ModerationStatus.OPS_TOLD: "待运营移出",
    ModerationStatus.APPEALED: "申诉中",
    ModerationStatus.UNDONE: "已撤销（已重新邀请）",
    ModerationStatus.UPHELD: "维持移出",
}


@routes.get("/console/moderation")
@page()
async def moderation_page(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    env = request.app[ENV]
    brands = None if user.is_ops else list(user.brand_ids)
    async with env.db.reading() as session:
        cases = await moderation.cases(session, env.settings, brands=brands)
        strikes = await moderation.strikes(session, env.settings, brands=brands)
        policy = (await moderation_rules.load(session, env.settings)).platform  # as edited on the console
    return render(
        request,
        "moderation.html",
        user,
        section="moderation",
        cases=cases,
        strikes=strikes,
        statuses=STATUSES,
        open_statuses=moderation.OPEN,
        policy=policy,
        brand_names={b.id: b.name for b in env.settings.raw.brands},
    )


@routes.post("/console/moderation/cases/{id}/{decision:undo|uphold}")
@page(ops_only=True)
async def decide(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    case_id = ident(request.match_info["id"])
    if case_id is None:
        return not_found(request, user)
    note = str(form.get("note", ""))
    undoing = request.match_info["decision"] == "undo"
    try:
        async with request.app[ENV].context(user.actor) as ctx:
            if undoing:
                await moderation.undo(ctx, case_id, note)
            else:
                await moderation.uphold(ctx, case_id, note)
    except NotFound:
        return not_found(request, user)
    except Conflict:
        raise see_other("/console/moderation?ok=already") from None
    except Invalid:
        return error_page(request, user, 422, "维持移出请写明原因，申诉人会收到。")
    raise see_other(f"/console/moderation?ok={'moderation_undone' if undoing else 'moderation_upheld'}")


@routes.post("/console/moderation/strikes/{id}/clear")
@page(ops_only=True)
async def clear(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    strike_id = ident(request.match_info["id"])
    if strike_id is None:
        return not_found(request, user)
    try:
        async with request.app[ENV].context(user.actor) as ctx:
            await moderation.clear_strike(ctx, strike_id)
    except NotFound:
        return not_found(request, user)
    except Conflict:
        raise see_other("/console/moderation?ok=already") from None
    raise see_other("/console/moderation?ok=strike_cleared")

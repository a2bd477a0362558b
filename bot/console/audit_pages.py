"""The console's audit log (操作记录) and the stock form that writes into it.

Ops read every entry and filter by who, kind, brand and period; a brand manager sees only the
entries of their brands (the brand filter cannot widen that). Nothing here changes or removes
an entry: the log has no such path, and the database refuses one. Setting a course's stock on
the brand page goes through ``services.stock.set_stock``, the same use case as “库存 SKU N” in
the group, so it is recorded the same way."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from bot.console.auth import User
from bot.console.base import Form, error_page, ident, not_found, page, render, see_other
from bot.web.keys import ENV
from services import audit
from services.errors import Invalid, NotFound
from services.stock import set_stock

routes = web.RouteTableDef()
KIND_LABELS = {
    "money": "资金",
    "membership": "成员",
    "stock": "库存",
    "codes": "邀请码",
    "sessions": "共学营",
    "settings": "设置",
    "moderation": "群管理",
}
SOURCE_LABELS = {"console": "后台", "api": "API", "cli": "命令行", "chat": "微信", "system": "系统"}
ROLE_LABELS = {"ops": "运营", "manager": "品牌经理", "distributor": "分销员", "guest": "访客", "system": "系统"}


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@routes.get("/console/audit")
@page()
async def audit_log(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    q = request.query
    kind = q.get("kind", "")
    brand = q.get("brand", "")
    if brand and not user.sees_brand(brand):
        return not_found(request, user)
    chosen = audit.AuditFilter(
        actor=q.get("actor", "").strip() or None,
        kind=kind if kind in KIND_LABELS else None,
        brand_id=brand or None,
        since=_day(q.get("since", "")),
        until=_day(q.get("until", "")),
        brands=None if user.is_ops else user.brand_ids,
        before_id=ident(q.get("before", "")),
    )
    env = request.app[ENV]
    async with env.db.reading() as session:
        rows = await audit.entries(session, env.settings, chosen)
    brands = [b for b in env.settings.raw.brands if user.sees_brand(b.id)]
    older = rows[-1]["id"] if len(rows) == audit.PAGE else None
    return render(
        request,
        "audit.html",
        user,
        section="audit",
        rows=rows,
        chosen=chosen,
        kinds=KIND_LABELS,
        sources=SOURCE_LABELS,
        roles=ROLE_LABELS,
        brands=brands,
        brand_names={b.id: b.name for b in env.settings.raw.brands},
        query={k: q.get(k, "") for k in ("actor", "kind", "brand", "since", "until")},
        older=older,
    )


@routes.post("/console/brands/{brand_id}/stock")
@page()
async def stock(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    brand_id = request.match_info["brand_id"]
    if not user.sees_brand(brand_id):
        return not_found(request, user)
    raw = str(form.get("stock", "")).strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        return error_page(request, user, 422, "库存须为 0 或正整数。")
    try:
        async with request.app[ENV].context(user.actor) as ctx:
            await set_stock(ctx, brand_id, str(form.get("sku", "")), int(raw))
    except NotFound:
        return not_found(request, user)
    except Invalid as refusal:
        return error_page(request, user, 422, "；".join(refusal.problems))
    raise see_other(f"/console/brands/{brand_id}?ok=stock_set")

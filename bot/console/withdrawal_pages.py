"""The console's withdrawals page (提现, ops only): requests waiting (approve, or reject with a
reason), approved and rejected ones by period, and the CSV of approved withdrawals for
finance. Decisions go through ``services.withdrawals``, the same as the API."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from bot.console.auth import User
from bot.console.base import Form, error_page, ident, not_found, page, render, see_other, zone_of
from bot.web.keys import ENV
from models.statuses import WithdrawalStatus
from services import withdrawals
from services.errors import Conflict, Invalid, NotFound, Refused

routes = web.RouteTableDef()
STATUSES = {
    WithdrawalStatus.REQUESTED: "待审核",
    WithdrawalStatus.APPROVED: "已打款",
    WithdrawalStatus.REJECTED: "已拒绝",
}
REFUSALS = {
    "above_balance": "余额已不足（申请后有退款扣回），请拒绝并说明原因。",
    "negative_balance": "余额为负（退款扣回了已打款的佣金），不能打款，请拒绝并说明原因。",
}


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@routes.get("/console/withdrawals")
@page(ops_only=True)
async def withdrawal_list(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    asked = request.query.get("status", "")
    status = WithdrawalStatus(asked) if asked in STATUSES else WithdrawalStatus.REQUESTED
    since, until = _day(request.query.get("since", "")), _day(request.query.get("until", ""))
    env = request.app[ENV]
    async with env.db.reading() as session:
        rows = await withdrawals.listed(session, env.settings, status, since, until)
    today = env.clock.now().astimezone(zone_of(request)).date()
    return render(
        request,
        "withdrawals.html",
        user,
        section="withdrawals",
        status=status,
        statuses=STATUSES,
        rows=rows,
        since=since.isoformat() if since else "",
        until=until.isoformat() if until else "",
        month_start=today.replace(day=1).isoformat(),
        today=today.isoformat(),
        problem=REFUSALS.get(request.query.get("refused", ""), ""),
    )


@routes.get("/console/withdrawals/approved.csv")
@page(ops_only=True)
async def export(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    since, until = _day(request.query.get("since", "")), _day(request.query.get("until", ""))
    if since is None or until is None or until < since:
        return error_page(request, user, 422, "请选择导出的起止日期。")
    env = request.app[ENV]
    async with env.db.reading() as session:
        text = await withdrawals.approved_csv(session, env.settings, since, until)
    name = f"withdrawals-approved-{since}-{until}.csv"
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@routes.post("/console/withdrawals/{id}/{decision:approve|reject}")
@page(ops_only=True)
async def decide(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    withdrawal_id = ident(request.match_info["id"])
    if withdrawal_id is None:
        return not_found(request, user)
    approve = request.match_info["decision"] == "approve"
    try:
        async with request.app[ENV].context(user.actor) as ctx:
            if approve:
                await withdrawals.approve(ctx, withdrawal_id)
            else:
                await withdrawals.reject(ctx, withdrawal_id, str(form.get("reason", "")))
    except NotFound:
        return not_found(request, user)
    except Conflict:
        raise see_other("/console/withdrawals?ok=already") from None
    except Refused as refusal:
        raise see_other(f"/console/withdrawals?refused={refusal.code}") from None
    except Invalid:
        return error_page(request, user, 422, "拒绝提现请填写原因，分销员会收到。")
    raise see_other(f"/console/withdrawals?ok={'withdrawal_approved' if approve else 'withdrawal_rejected'}")

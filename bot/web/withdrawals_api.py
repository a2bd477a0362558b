"""Ops API for withdrawals (提现):

- ``GET /api/withdrawals?status=requested|approved|rejected&since=YYYY-MM-DD&until=YYYY-MM-DD``
- ``POST /api/withdrawals/{id}/approve`` ``{"by": "…"}`` — paid out: a ledger line, the person told;
  409 when decided already, or when the balance no longer covers it (``code``
  ``above_balance`` / ``negative_balance``, with the figures);
- ``POST /api/withdrawals/{id}/reject`` ``{"reason": "…", "by": "…"}`` — 422 without a reason;
- ``GET /api/withdrawals/approved.csv?since=YYYY-MM-DD&until=YYYY-MM-DD`` — for finance.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web

from bot.base.jsonutil import row_id
from bot.web.errors import json_object, reply
from bot.web.keys import ENV, api_actor
from models.statuses import WithdrawalStatus
from services import withdrawals
from services.errors import Invalid, NotFound

routes = web.RouteTableDef()
SHAPE = 'body must be a JSON object, e.g. {"by": "…"}'


def _days(query: Any, required: bool) -> tuple[date | None, date | None]:
    found: dict[str, date | None] = {}
    errors = []
    for name in ("since", "until"):
        raw = query.get(name, "")
        try:
            found[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            found[name] = None
            errors.append(f"{name}: a day as YYYY-MM-DD")
        if required and not raw:
            errors.append(f"{name}: required (YYYY-MM-DD)")
    if errors:
        raise Invalid(errors)
    return found["since"], found["until"]



@routes.get("/api/withdrawals")
async def listed(request: web.Request) -> web.Response:
    asked = request.query.get("status", WithdrawalStatus.REQUESTED)
    if asked not in {s.value for s in WithdrawalStatus}:
        raise Invalid([f"status: one of {', '.join(WithdrawalStatus)}"])
    since, until = _days(request.query, required=False)
    env = request.app[ENV]
    async with env.db.reading() as session:
        rows = await withdrawals.listed(session, env.settings, WithdrawalStatus(asked), since, until)
    return reply({"status": asked, "withdrawals": rows})


@routes.get("/api/withdrawals/approved.csv")
async def export(request: web.Request) -> web.Response:
    since, until = _days(request.query, required=True)
    assert since is not None and until is not None
    env = request.app[ENV]
    async with env.db.reading() as session:
        text = await withdrawals.approved_csv(session, env.settings, since, until)
    name = f"withdrawals-approved-{since}-{until}.csv"
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@routes.post("/api/withdrawals/{id}/{decision:approve|reject}")
async def decide(request: web.Request) -> web.Response:
    withdrawal_id = row_id(request.match_info["id"])
    if withdrawal_id is None:
        raise NotFound("no such withdrawal")
    body = await json_object(request, SHAPE)
    async with request.app[ENV].context(api_actor(body.get("by"))) as ctx:
        if request.match_info["decision"] == "approve":
            row = await withdrawals.approve(ctx, withdrawal_id)
        else:
            row = await withdrawals.reject(ctx, withdrawal_id, str(body.get("reason") or ""))
    return reply({"status": row.status, "id": row.id, "amount": row.amount})

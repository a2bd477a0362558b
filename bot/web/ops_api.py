"""The ops API (``Authorization: Bearer <token>``, checked by ``bot.web.app.ops_auth``): earnings,
progress, leaderboards, stock. Each route reads one report from ``services.reports`` (the same
functions the CLI prints); an unknown distributor or brand → 404, a bad query → 422.

- ``GET /api/distributors/{code}/earnings``
- ``GET /api/distributors/{code}/progress``
- ``GET /api/brands/{id}/leaderboard?period=today|week|month|push|all&metric=amount|orders|new_customers&limit=10``
- ``GET /api/brands/{id}/stock``
- ``GET /api/brands/{id}/groups`` (members counted from each room's member list)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.base.jsonutil import body_problem, loads
from bot.web.errors import reply
from bot.web.keys import ENV, api_actor
from core.money import to_decimal
from services import reports
from services.errors import Invalid, NotFound
from services.payouts import record_payout

routes = web.RouteTableDef()
DEFAULT_LIMIT, MAX_LIMIT = 10, 100


def _found(report: dict[str, Any] | None, missing: str) -> web.Response:
    """The report, or 404 saying what was not found."""
    if report is None:
        raise NotFound(missing)
    return reply(report)


def _invalid(errors: list[str], allowed: dict[str, Any]) -> Invalid:
    return Invalid(errors, details={"allowed": allowed})


@routes.get("/api/distributors/{code}/earnings")
async def earnings(request: web.Request) -> web.Response:
    env, code = request.app[ENV], request.match_info["code"]
    async with env.db.reading() as session:
        report = await reports.earnings_report(session, env.settings, code, env.clock.now())
    return _found(report, f"no distributor has the code {code!r}")


@routes.get("/api/distributors/{code}/progress")
async def progress(request: web.Request) -> web.Response:
    env, code = request.app[ENV], request.match_info["code"]
    async with env.db.reading() as session:
        report = await reports.progress_report(session, env.settings, code)
    return _found(report, f"no distributor has the code {code!r}")


@routes.get("/api/brands/{brand_id}/leaderboard")
async def leaderboard(request: web.Request) -> web.Response:
    env, brand_id = request.app[ENV], request.match_info["brand_id"]
    period = request.query.get("period", "all")
    metric = request.query.get("metric", "amount")
    raw_limit = request.query.get("limit", str(DEFAULT_LIMIT))
    errors = []
    if period not in reports.PERIODS:
        errors.append(f"period: {period!r} is not one of {', '.join(reports.PERIODS)}")
    if metric not in reports.METRICS:
        errors.append(f"metric: {metric!r} is not one of {', '.join(reports.METRICS)}")
    limit = int(raw_limit) if raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 4 else 0
    if not 1 <= limit <= MAX_LIMIT:
        errors.append(f"limit: {raw_limit!r} is not a whole number from 1 to {MAX_LIMIT}")
    if errors:
        allowed = {"period": list(reports.PERIODS), "metric": list(reports.METRICS), "limit": [1, MAX_LIMIT]}
        raise _invalid(errors, allowed)
    async with env.db.reading() as session:
        report = await reports.leaderboard_report(
            session, env.settings, brand_id, period, metric, limit, env.clock.now()
        )
    return _found(report, f"no brand has the id {brand_id!r}")


@routes.get("/api/brands/{brand_id}/stock")
async def stock(request: web.Request) -> web.Response:
    env, brand_id = request.app[ENV], request.match_info["brand_id"]
    async with env.db.reading() as session:
        report = await reports.stock_report(session, env.settings, brand_id)
    return _found(report, f"no brand has the id {brand_id!r}")


@routes.get("/api/brands/{brand_id}/groups")
async def groups(request: web.Request) -> web.Response:
    env, brand_id = request.app[ENV], request.match_info["brand_id"]
    async with env.db.reading() as session:
        report = await reports.groups_report(session, env.settings, brand_id)
    return _found(report, f"no brand has the id {brand_id!r}")


@routes.post("/api/distributors/{code}/payouts")
async def payout(request: web.Request) -> web.Response:
    """Record money paid to a distributor: ``{"amount": "100.00", "note": "11月结算", "by": "ops"}``."""
    env, code = request.app[ENV], request.match_info["code"]
    shape = 'body must be {"amount": "100.00", "note": "…", "by": "…"}'
    try:
        body = loads(await request.read())
    except ValueError as error:
        raise _invalid([body_problem(error), shape], {}) from None
    if not isinstance(body, dict) or "amount" not in body:
        raise _invalid([shape], {})
    try:
        amount = to_decimal(body["amount"])
    except (ValueError, TypeError):
        raise _invalid(['amount: must be yuan in ASCII digits, e.g. "100.00"'], {}) from None
    note, by = str(body.get("note", "")), str(body.get("by", "ops"))
    async with env.context(api_actor(by)) as ctx:
        balance = await record_payout(ctx, code, amount, note, by)
    return reply({"status": "recorded", "amount": amount, "balance": balance})

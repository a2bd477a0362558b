"""Console pages for ops and brand managers: login, overview, brands (groups, stock,
leaderboard), red packets owed. A manager sees only the brands on their account."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import auth, dashboard
from bot.console.base import Form, error_page, ident, not_found, page, render, see_other, zone_of
from bot.console.charts import bar_chart, column_chart
from bot.console.throttle import LoginThrottle, client_address, networks
from bot.web.keys import ENV, HEALTH
from models import group_task_queries as tasks
from models import queries as q
from models.catalog import Brand, RedPacket
from models.statuses import OutboxStatus
from services import red_packets as packets
from services import reports
from services.errors import Conflict

routes = web.RouteTableDef()
LOGIN_COOKIE = "distbot_console_login"
PERIOD_LABELS = {"today": "今日", "week": "本周", "month": "本月", "push": "本轮接龙", "all": "全部"}
LEADERBOARD_METRICS = {"amount": "销售额", "orders": "订单数", "new_customers": "新客数"}


def _safe_next(value: str) -> str:
    return value if value.startswith("/console") and not value.startswith("//") and "\\" not in value else "/console"


def _login_form(request: web.Request, error: str = "", status: int = 200, name: str = "") -> web.Response:
    """The form; after a refusal it keeps the name typed (only the password is typed again)."""
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        None,
        http_status=status,
        error=error,
        login_csrf=token,
        login_name=name,
        next=request.query.get("next", ""),
    )
    response.set_cookie(
        LOGIN_COOKIE, token, path="/console", httponly=True, samesite="Lax", secure=auth.secure_cookie()
    )
    return response


@routes.get("/console/login")
async def login_page(request: web.Request) -> web.StreamResponse:
    return _login_form(request)


@routes.post("/console/login")
async def login(request: web.Request) -> web.StreamResponse:
    env = request.app[ENV]
    form = await request.post()
    expected = request.cookies.get(LOGIN_COOKIE, "")
    given = str(form.get("csrf", ""))
    name = str(form.get("name", "")).strip()[:64]
    if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
        return _login_form(request, "表单已过期，请重试。", 403, name)
    user = await auth.find_user(request, name)
    device = auth.known_device(request, user, env.clock.now())
    trusted = networks(env.settings.raw.console.trusted_proxies)
    address = client_address(request.remote, request.headers.getall("X-Forwarded-For", []), trusted)
    throttle = env.kept(LoginThrottle)
    wait = throttle.wait(name, address, device)
    if wait:
        response = _login_form(request, f"尝试次数太多，请 {_duration(wait)}后再试。", 429, name)
        response.headers["Retry-After"] = str(wait)
        return response
    token = await auth.log_in(request, user, str(form.get("password", "")))
    if token is None or user is None:
        throttle.failed(name, address, device)
        return _login_form(request, "用户名或密码错误。", 401, name)
    throttle.succeeded(name, address, device)
    response = see_other(_safe_next(str(form.get("next", ""))))
    now = env.clock.now()
    auth.set_cookie(response, token, now)
    auth.set_device_cookie(response, user, now)
    response.del_cookie(LOGIN_COOKIE, path="/console")
    raise response


def _duration(seconds: int) -> str:
    return f"{seconds} 秒" if seconds < 60 else f"{-(-seconds // 60)} 分钟"


@routes.post("/console/logout")
@page()
async def logout(request: web.Request, user: auth.User, form: Form) -> web.StreamResponse:
    await auth.log_out(request)
    response = see_other("/console/login")
    response.del_cookie(auth.COOKIE, path="/console")
    raise response


async def visible_brands(session: AsyncSession, user: auth.User) -> list[Brand]:
    query = select(Brand).order_by(Brand.id)
    if not user.is_ops:
        query = query.where(Brand.id.in_(user.brand_ids or ("",)))
    return list(await session.scalars(query))


@routes.get("/console")
@page()
async def overview(request: web.Request, user: auth.User, form: Form) -> web.StreamResponse:
    """Today in figures; the last 14 days as charts (revenue and orders per day stacked by
    brand, new distributors per day), each brand's fortnight, the outbox's health and the
    checks of /healthz. Managers see their brands only, without the ops-only parts."""
    now = request.app[ENV].clock.now()
    window = dashboard.Window.ending(now, zone_of(request))
    async with request.app[ENV].db.reading() as session:
        brands = await visible_brands(session, user)
        days = await dashboard.orders_by_day(session, window, [(b.id, b.name) for b in brands])
        owed = await session.scalar(
            select(func.count(RedPacket.id)).where(
                RedPacket.paid_at.is_(None), RedPacket.brand_id.in_([b.id for b in brands] or [""])
            )
        )
        newcomers = await dashboard.newcomers_by_day(session, window) if user.is_ops else None
        waiting = await tasks.waiting_counts(session, None if user.is_ops else user.brand_ids)
        health = await dashboard.outbox_health(session, now) if user.is_ops else None
    runtime = await request.app[HEALTH].report() if user.is_ops else None  # what /healthz says
    labels = [d.strftime("%m-%d") for d in window.days]
    figures = {
        "orders": sum(b.orders[-1] for b in days),
        "revenue": sum((b.revenue[-1] for b in days), dashboard.ZERO),
        "owed": int(owed or 0),
        "newcomers": newcomers[-1] if newcomers is not None else None,
    }
    transport = request.app[HEALTH].transport
    confirming = transport is not None and transport.capabilities.group_posts_need_confirmation
    proposed = waiting[OutboxStatus.PROPOSED] if confirming or any(waiting.values()) else None
    charts = {
        "revenue": column_chart(labels, [(b.name, b.revenue) for b in days], money=True, unit="元"),
        "orders": column_chart(labels, [(b.name, b.orders) for b in days], money=False, unit="单"),
        "newcomers": column_chart(labels, [("新增分销员", newcomers)], money=False, unit="人") if newcomers else None,
    }
    ranked = sorted(days, key=lambda b: (-b.total_revenue, b.brand_id))
    return render(
        request,
        "overview.html",
        user,
        section="overview",
        figures=figures,
        day=window.days[-1],
        first_day=window.days[0],
        charts=charts,
        brands=ranked,
        health=health,
        runtime=runtime,
        proposed=proposed,
        held=waiting[OutboxStatus.HELD],
    )


async def _groups(session: AsyncSession, brand_id: str) -> list[dict[str, Any]]:
    """Members as the rooms' member lists show them: the same figures as the ops API's."""
    groups = await q.group_sizes(session, brand_id)
    return [
        {
            "name": g.name,
            "room": g.room_id,
            "members": members,
            "capacity": g.capacity,
            "percent": min(100, members * 100 // g.capacity) if g.capacity else 0,
        }
        for g, members in groups
    ]


@routes.get("/console/brands")
@page()
async def brands(request: web.Request, user: auth.User, form: Form) -> web.StreamResponse:
    env = request.app[ENV]
    items = []
    async with env.db.reading() as session:
        for brand in await visible_brands(session, user):
            stock = await reports.stock_report(session, env.settings, brand.id)
            items.append({"brand": brand, "groups": await _groups(session, brand.id), "stock": stock})
    return render(request, "brands.html", user, section="brands", items=items)


@routes.get("/console/brands/{brand_id}")
@page()
async def brand(request: web.Request, user: auth.User, form: Form) -> web.StreamResponse:
    env, brand_id = request.app[ENV], request.match_info["brand_id"]
    if not user.sees_brand(brand_id):
        return not_found(request, user)
    period = request.query.get("period", "month")
    metric = request.query.get("metric", "amount")
    if period not in reports.PERIODS or metric not in reports.METRICS:
        return error_page(request, user, 422, "排行榜的时间段或指标无效。")
    async with env.db.reading() as session:
        stock = await reports.stock_report(session, env.settings, brand_id)
        if stock is None:
            return not_found(request, user)
        board = await reports.leaderboard_report(
            session, env.settings, brand_id, period, metric, 10, env.clock.now()
        )
        groups = await _groups(session, brand_id)
    assert board is not None
    chart = bar_chart([(row["rank"], row["seller"], row["value"]) for row in board["rows"]], money=metric == "amount")
    return render(
        request,
        "brand.html",
        user,
        section="brands",
        brand=stock["brand"],
        stock=stock,
        groups=groups,
        board=board,
        chart=chart,
        periods=PERIOD_LABELS,
        metrics=LEADERBOARD_METRICS,
        metric=metric,
    )


@routes.get("/console/red-packets")
@page()
async def red_packets(request: web.Request, user: auth.User, form: Form) -> web.StreamResponse:
    paid = request.query.get("status") == "paid"
    async with request.app[ENV].db.reading() as session:
        if user.is_ops:
            rows = await q.red_packets_owed(session, paid, None)
        else:
            rows = [row for b in user.brand_ids for row in await q.red_packets_owed(session, paid, b)]
            rows.sort(key=lambda row: row[0].id, reverse=paid)
    items = [
        {"packet": packet, "brand": brand_name, "course": course, "order": order, "seller": seller}
        for packet, brand_name, course, order, seller in rows
    ]
    return render(request, "red_packets.html", user, section="red_packets", items=items, paid=paid)


@routes.post("/console/red-packets/{id}/paid")
@page()
async def mark_paid(request: web.Request, user: auth.User, form: Form) -> web.StreamResponse:
    packet_id = ident(request.match_info["id"])
    try:
        async with request.app[ENV].context(user.actor) as ctx:
            packet = await ctx.session.get(RedPacket, packet_id) if packet_id is not None else None
            if packet is None or not user.sees_brand(packet.brand_id):
                return not_found(request, user)
            await packets.mark_paid(ctx, packet.id, user.name)
    except Conflict:
        raise see_other("/console/red-packets?ok=already") from None
    raise see_other("/console/red-packets?ok=paid")

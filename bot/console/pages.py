"""Console pages for ops and brand managers: login, overview, brands (groups, stock,
leaderboard), red packets owed. A manager sees only the brands on their account."""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import reports
from bot.console import auth
from bot.console.base import Form, error_page, ident, not_found, page, render, see_other, zone_of
from bot.console.charts import bar_chart
from bot.health import HEALTH
from bot.services import SERVICES
from models import queries as q
from models.base import money_sum
from models.catalog import Brand, RedPacket
from models.orders import Order
from models.people import Distributor

routes = web.RouteTableDef()
LOGIN_COOKIE = "distbot_console_login"
PERIOD_LABELS = {"today": "今日", "week": "本周", "month": "本月", "push": "本轮接龙", "all": "全部"}


def _safe_next(value: str) -> str:
    return value if value.startswith("/console") and not value.startswith("//") and "\\" not in value else "/console"


def _login_form(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        None,
        http_status=status,
        error=error,
        login_csrf=token,
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
    form = await request.post()
    expected = request.cookies.get(LOGIN_COOKIE, "")
    given = str(form.get("csrf", ""))
    if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
        return _login_form(request, "表单已过期，请重试。", 403)
    name = str(form.get("name", "")).strip()
    now = time.monotonic()
    # Each attempt costs a scrypt hash: limited, or guessing passwords (and tying up the
    # server) would be cheap.
    attempts = request.app[SERVICES].login_attempts
    if not (attempts.allow(f"name:{name}", now) and attempts.allow(f"from:{request.remote}", now)):
        return _login_form(request, "尝试次数太多，请一分钟后再试。", 429)
    token = await auth.log_in(request, name, str(form.get("password", "")))
    if token is None:
        return _login_form(request, "用户名或密码错误。", 401)
    response = see_other(_safe_next(str(form.get("next", ""))))
    auth.set_cookie(response, token, request.app[SERVICES].clock.now())
    response.del_cookie(LOGIN_COOKIE, path="/console")
    raise response


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


def _midnight(request: web.Request) -> datetime:
    now = request.app[SERVICES].clock.now().astimezone(zone_of(request))
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


@routes.get("/console")
@page()
async def overview(request: web.Request, user: auth.User, form: Form) -> web.StreamResponse:
    since = _midnight(request)
    async with request.app[SERVICES].db.reading() as session:
        brand_ids = [b.id for b in await visible_brands(session, user)] or [""]
        orders, revenue = (
            await session.execute(
                select(func.count(Order.id), money_sum(Order.amount)).where(
                    Order.paid_at >= since, Order.brand_id.in_(brand_ids)
                )
            )
        ).one()
        owed = await session.scalar(
            select(func.count(RedPacket.id)).where(RedPacket.paid_at.is_(None), RedPacket.brand_id.in_(brand_ids))
        )
        newcomers = (
            await session.scalar(select(func.count(Distributor.id)).where(Distributor.joined_at >= since))
            if user.is_ops
            else None
        )
    figures = {"orders": int(orders), "revenue": revenue, "owed": int(owed or 0), "newcomers": newcomers}
    health = await request.app[HEALTH].report() if user.is_ops else None  # what /healthz says
    return render(request, "overview.html", user, section="overview", figures=figures, day=since, health=health)


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
    services = request.app[SERVICES]
    items = []
    async with services.db.reading() as session:
        for brand in await visible_brands(session, user):
            stock = await reports.stock_report(session, services.settings, brand.id)
            items.append({"brand": brand, "groups": await _groups(session, brand.id), "stock": stock})
    return render(request, "brands.html", user, section="brands", items=items)


@routes.get("/console/brands/{brand_id}")
@page()
async def brand(request: web.Request, user: auth.User, form: Form) -> web.StreamResponse:
    services, brand_id = request.app[SERVICES], request.match_info["brand_id"]
    if not user.sees_brand(brand_id):
        return not_found(request, user)
    period = request.query.get("period", "month")
    metric = request.query.get("metric", "amount")
    if period not in reports.PERIODS or metric not in reports.METRICS:
        return error_page(request, user, 422, "排行榜的时间段或指标无效。")
    async with services.db.reading() as session:
        stock = await reports.stock_report(session, services.settings, brand_id)
        if stock is None:
            return not_found(request, user)
        board = await reports.leaderboard_report(
            session, services.settings, brand_id, period, metric, 10, services.clock.now()
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
        metric=metric,
    )


@routes.get("/console/red-packets")
@page()
async def red_packets(request: web.Request, user: auth.User, form: Form) -> web.StreamResponse:
    paid = request.query.get("status") == "paid"
    async with request.app[SERVICES].db.reading() as session:
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
    async with request.app[SERVICES].context() as ctx:
        packet = await ctx.session.get(RedPacket, packet_id) if packet_id is not None else None
        if packet is None or not user.sees_brand(packet.brand_id):
            return not_found(request, user)
        marked = await q.mark_red_packet_paid(ctx.session, packet.id, user.name, ctx.now)
    raise see_other(f"/console/red-packets?ok={'paid' if marked else 'already'}")

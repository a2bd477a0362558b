"""What every console page shares: the HTML environment (autoescaped: user data is escaped),
the page decorator (login, role, CSRF on every POST) and the error pages.

Managers see only their brands: a page about another brand's thing answers 404 (as if it did
not exist), an ops-only page answers 403.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context as JinjaContext
from multidict import MultiDict, MultiDictProxy

from bot.base.render import yuan_filter
from bot.console.auth import User, current_user
from bot.web.keys import ENV
from models.statuses import DistributorStatus, FriendRequestStatus, OutboxStatus, SessionStatus, WithdrawalStatus

TEMPLATES = Path(__file__).resolve().parent / "templates"
Form = MultiDictProxy[Any]
PageHandler = Callable[[web.Request, User, Form], Awaitable[web.StreamResponse]]
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
}
# (section, link, label, who sees it: "all", "ops" or "manager")
NAV = [
    ("overview", "/console", "概览", "all"),
    ("brands", "/console/brands", "品牌", "all"),
    ("red_packets", "/console/red-packets", "红包", "all"),
    ("distributors", "/console/distributors", "分销员", "ops"),
    ("colearning", "/console/colearning", "共学营", "ops"),
    ("friend_requests", "/console/friend-requests", "好友申请", "ops"),
    ("outbox", "/console/outbox", "消息队列", "ops"),
    ("outbox", f"/console/outbox?status={OutboxStatus.PROPOSED}", "待确认群发", "manager"),
    ("withdrawals", "/console/withdrawals", "提现", "ops"),
    ("moderation", "/console/moderation", "群管理", "all"),
    ("audit", "/console/audit", "操作记录", "all"),
]
NOTICES = {
    "paid": "已标记为已发放。",
    "created": "共学营已创建。",
    "updated": "共学营已更新。",
    "cancelled": "共学营已取消。",
    "approved": "申请已通过。",
    "rejected": "申请已拒绝。",
    "retried": "消息已重新排队。",
    "dropped": "消息已放弃，不会再发送。",
    "already": "操作未执行：状态已变化。",
    "friend_accepted": "已通过好友申请，小助手会在微信里接受。",
    "friend_rejected": "已拒绝好友申请。",
    "gone": "操作未执行：没有这条记录。",
    "stock_set": "库存已设置，红包阈值重新生效。",
    "withdrawal_approved": "提现已通过，已记为打款并通知本人。",
    "withdrawal_rejected": "提现已拒绝，本人会收到原因。",
    "moderation_undone": "已撤销：违规记录已清除，已重新邀请进群并通知本人。",
    "moderation_upheld": "已维持移出。",
    "strike_cleared": "已清除这条违规记录。",
    "moderation_rules_saved": "群规已保存，立即生效（其他进程 30 秒内生效）。",
    "moderation_rules_reset": "已恢复为配置文件（config.yaml）中的群规。",
    "reminded": "已提醒员工在企业微信里确认群发。",
    "remind_refused": "提醒未发出（企业微信每个任务 24 小时内最多提醒 3 次），请稍后再试。",
}


def _yuan(value: Any) -> str:
    """Money as the messages write it ("7,581.00"); a dash for no amount."""
    return "—" if value is None else yuan_filter(value)


def _measure(value: Any) -> str:
    """A figure that is money when it is a Decimal (progress toward 10,000.00 of sales) and a
    count otherwise (12 customers): each in its one format."""
    if isinstance(value, Decimal):
        return yuan_filter(value)
    return f"{value:,}" if isinstance(value, int) else "—"


@pass_context
def _local(context: JinjaContext, value: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    """A time in the platform's zone (never the server's or the browser's)."""
    if value is None:
        return "—"
    return value.astimezone(context["zone"]).strftime(fmt)


PAGES = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined)
PAGES.filters["yuan"] = _yuan
PAGES.filters["measure"] = _measure
PAGES.filters["local"] = _local
# Pages compare statuses by name ({% if row.status == OutboxStatus.DEAD %}): a misspelt one is
# an error when the page renders (StrictUndefined), not a branch that is silently never taken.
PAGES.globals.update(
    OutboxStatus=OutboxStatus,
    DistributorStatus=DistributorStatus,
    SessionStatus=SessionStatus,
    FriendRequestStatus=FriendRequestStatus,
    WithdrawalStatus=WithdrawalStatus,
)


def zone_of(request: web.Request) -> ZoneInfo:
    return ZoneInfo(request.app[ENV].settings.raw.platform.timezone)


def render(
    request: web.Request, name: str, user: User | None, http_status: int = 200, section: str = "", **data: Any
) -> web.Response:
    notice = NOTICES.get(request.query.get("ok", ""), "")
    nav = [
        (key, href, label)
        for key, href, label, audience in NAV
        if user is not None and audience in ("all", "ops" if user.is_ops else "manager")
    ]
    html = PAGES.get_template(name).render(
        user=user, nav=nav, section=section, notice=notice, zone=zone_of(request), **data
    )
    return web.Response(text=html, status=http_status, content_type="text/html", headers=SECURITY_HEADERS)


def error_page(request: web.Request, user: User | None, status: int, message: str) -> web.Response:
    return render(request, "error.html", user, http_status=status, code=status, message=message)


def not_found(request: web.Request, user: User | None) -> web.Response:
    return error_page(request, user, 404, "页面不存在，或您没有权限查看。")


def see_other(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location, headers={"Cache-Control": "no-store"})


def page(*, ops_only: bool = False) -> Callable[[PageHandler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """Login required; ``ops_only`` pages answer 403 to managers; every POST must carry the
    session's CSRF token in the ``csrf`` field."""

    def wrap(handler: PageHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @functools.wraps(handler)
        async def run(request: web.Request) -> web.StreamResponse:
            user = await current_user(request)
            if user is None:
                if request.method == "GET":
                    raise see_other(f"/console/login?next={quote(request.path_qs, safe='')}")
                return error_page(request, None, 403, "登录已失效，请重新登录。")
            form: Form = MultiDictProxy(MultiDict())
            if request.method == "POST":
                form = await request.post()
                given = str(form.get("csrf", ""))
                if not given or not hmac.compare_digest(given.encode(), user.csrf.encode()):
                    return error_page(request, user, 403, "表单已过期（CSRF 校验失败），请刷新页面后重试。")
            if ops_only and not user.is_ops:
                return error_page(request, user, 403, "此页面仅限运营账号访问。")
            return await handler(request, user, form)

        return run

    return wrap


def ident(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 12 else None


def fields(form: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(form.get(name, "")).strip() for name in names}

"""The console's friend-requests page (ops only): requests the helper did not accept on its
own — no code or keyword in the greeting — waiting for ops to accept or reject. Decisions go
through ``services.friends.decide_friend_request``, the same as the API."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from bot.console.auth import User
from bot.console.base import Form, page, render, see_other
from bot.web.keys import ENV
from models.rooms import FriendRequestRecord
from models.statuses import FriendRequestStatus
from services.errors import Conflict, NotFound
from services.friends import decide_friend_request

routes = web.RouteTableDef()
STATUSES = {
    FriendRequestStatus.PENDING: "待处理",
    FriendRequestStatus.ACCEPTED: "已通过",
    FriendRequestStatus.IGNORED: "已拒绝",
}
REASONS = {"code": "验证消息含邀请码", "keyword": "验证消息含关键词", "ops": "运营处理", "replaced": "被新的申请取代"}


@routes.get("/console/friend-requests")
@page(ops_only=True)
async def friend_requests(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    asked = request.query.get("status", "")
    status = FriendRequestStatus(asked) if asked in STATUSES else FriendRequestStatus.PENDING
    async with request.app[ENV].db.reading() as session:
        counts = dict(
            (
                await session.execute(
                    select(FriendRequestRecord.status, func.count()).group_by(FriendRequestRecord.status)
                )
            ).all()
        )
        rows = list(
            await session.scalars(
                select(FriendRequestRecord)
                .where(FriendRequestRecord.status == status)
                .order_by(FriendRequestRecord.received_at.desc(), FriendRequestRecord.id)
                .limit(200)
            )
        )
    return render(
        request,
        "friend_requests.html",
        user,
        section="friend_requests",
        status=status,
        statuses=STATUSES,
        reasons=REASONS,
        counts=counts,
        rows=rows,
    )


@routes.post("/console/friend-requests/{id}/{decision:accept|reject}")
@page(ops_only=True)
async def decide(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    accept = request.match_info["decision"] == "accept"
    try:
        async with request.app[ENV].context(user.actor) as ctx:
            await decide_friend_request(ctx, request.match_info["id"], accept=accept, by=user.name)
    except NotFound:
        done = "gone"
    except Conflict:
        done = "already"
    else:
        done = "friend_accepted" if accept else "friend_rejected"
    raise see_other(f"/console/friend-requests?ok={done}")

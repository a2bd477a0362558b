"""Ops API for what waits on people: friend requests the helper did not accept on its own
(accept or reject), and outbox messages (queued, sent, uncertain, dead-lettered) with retry and
drop for the uncertain and dead ones, what waits by priority, and what was not sent on purpose
(dropped at the cap, withheld by answer limits)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TypeVar

from aiohttp import web

from bot.base.jsonutil import body_problem, loads, row_id
from bot.base.outbox import local_day
from bot.web.errors import reply
from bot.web.keys import ENV, api_actor
from models.statuses import EntryApplicationStatus, FriendRequestStatus, OutboxStatus
from services import friends
from services import outbox as outbox_ops
from services.entry import decide_application, list_entry_applications
from services.errors import Invalid, NotFound

routes = web.RouteTableDef()
Status = TypeVar("Status", bound=StrEnum)


def _status(request: web.Request, statuses: type[Status], default: Status) -> Status:
    """The ``status`` asked for (``default`` when none is): a 422 naming the statuses there
    are when it is none of them."""
    try:
        return statuses(request.query.get("status", default))
    except ValueError:
        raise Invalid([f"status must be one of {', '.join(statuses)}"]) from None


@routes.get("/api/friend-requests")
async def friend_requests(request: web.Request) -> web.Response:
    status = _status(request, FriendRequestStatus, FriendRequestStatus.PENDING)
    async with request.app[ENV].db.reading() as session:
        items = await friends.list_friend_requests(session, status)
    return reply({"status": status, "requests": items})


@routes.post("/api/friend-requests/{id}/{decision:accept|reject}")
async def decide_friend_request(request: web.Request) -> web.Response:
    """Body (optional): ``{"by": "who decided"}``."""
    try:
        body = loads(await request.read() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Invalid(['body must be {"by": "…"} or empty'])
    accept = request.match_info["decision"] == "accept"
    async with request.app[ENV].context(api_actor(body.get("by"))) as ctx:
        record = await friends.decide_friend_request(
            ctx, request.match_info["id"], accept=accept, by=str(body.get("by", "ops"))
        )
    return reply({"status": record.status, "id": record.id})


@routes.get("/api/outbox")
async def outbox(request: web.Request) -> web.Response:
    asked = request.query.get("status", OutboxStatus.DEAD)
    known = {s.value for s in OutboxStatus}
    errors = [] if asked in known else [f"status must be one of {', '.join(OutboxStatus)}"]
    env = request.app[ENV]
    try:
        day = date.fromisoformat(request.query["day"]) if "day" in request.query else None
    except ValueError:
        errors.append("day must be a date, YYYY-MM-DD")
    if errors:
        raise Invalid(errors)
    day = day or local_day(env.settings, env.clock.now())
    async with env.db.reading() as session:
        return reply(await outbox_ops.overview(session, env.settings, OutboxStatus(asked), day))


@routes.post("/api/outbox/{id}/{action:retry|drop}")
async def resolve(request: web.Request) -> web.Response:
    """``retry`` queues a dead or uncertain message again; ``drop`` makes sure it is never sent."""
    message_id = row_id(request.match_info["id"])
    if message_id is None:
        raise NotFound("no such message")
    retrying = request.match_info["action"] == "retry"
    async with request.app[ENV].context() as ctx:
        await outbox_ops.resolve(ctx, message_id, retry=retrying)
    return reply({"status": OutboxStatus.QUEUED if retrying else OutboxStatus.DROPPED, "id": message_id})


@routes.get("/api/entry-applications")
async def entry_applications(request: web.Request) -> web.Response:
    status = _status(request, EntryApplicationStatus, EntryApplicationStatus.PENDING)
    async with request.app[ENV].db.reading() as session:
        items = await list_entry_applications(session, status)
    return reply({"status": status, "applications": items})


@routes.post("/api/entry-applications/{id}/{decision:approve|reject}")
async def decide_entry_application(request: web.Request) -> web.Response:
    env = request.app[ENV]
    application_id = row_id(request.match_info["id"])
    if application_id is None:
        raise NotFound("no such application")
    try:
        body = loads(await request.read() or b"{}")
    except ValueError as error:
        raise Invalid([body_problem(error)]) from None
    if not isinstance(body, dict):
        raise Invalid(['body must be {"reason": "…", "by": "…"}'])
    approve = request.match_info["decision"] == "approve"
    async with env.context(api_actor(body.get("by"))) as ctx:
        application = await decide_application(
            ctx, application_id, approve=approve, by=str(body.get("by", "ops")), reason=str(body.get("reason", ""))
        )
    return reply({"status": application.status, "id": application.id})

"""Ops API for what waits on people: friend requests the helper did not accept on its own
(accept or reject), and outbox messages (queued, sent, uncertain, dead-lettered) with retry and
drop for the uncertain and dead ones, what waits by priority, and what was not sent on purpose
(dropped at the cap, withheld by answer limits)."""

from __future__ import annotations

from datetime import date

from aiohttp import web
from sqlalchemy import func, select

from bot.base import outbox as box
from bot.base.jsonutil import body_problem, loads, row_id
from bot.base.outbox import DROP_REASONS, drops_on, local_day
from bot.base.priorities import Priority
from bot.runtime.router import MessageContext
from bot.web.errors import reply
from bot.web.keys import SERVICES
from handlers import friends
from handlers.codes import ApplicationRefused, decide_application
from models.messaging import OutboxMessage
from models.people import EntryApplication
from models.rooms import FriendRequestRecord

routes = web.RouteTableDef()
STATUSES = box.STATUSES
FRIEND_STATUSES = ("pending", "accepted", "ignored")


@routes.get("/api/friend-requests")
async def friend_requests(request: web.Request) -> web.Response:
    status = request.query.get("status", "pending")
    if status not in FRIEND_STATUSES:
        return reply({"status": "rejected", "errors": [f"status must be one of {', '.join(FRIEND_STATUSES)}"]}, 422)
    services = request.app[SERVICES]
    async with services.db.reading() as session:
        rows = await session.scalars(
            select(FriendRequestRecord)
            .where(FriendRequestRecord.status == status)
            .order_by(FriendRequestRecord.received_at.desc())
            .limit(200)
        )
        items = [
            {
                "id": r.id,
                "account": r.account,
                "contact": r.contact_id,
                "name": r.name,
                "hello": r.hello,
                "status": r.status,
                "reason": r.reason,
                "received_at": r.received_at,
                "decided_at": r.decided_at,
                "decided_by": r.decided_by,
            }
            for r in rows
        ]
    return reply({"status": status, "requests": items})


@routes.post("/api/friend-requests/{id}/{decision:accept|reject}")
async def decide_friend_request(request: web.Request) -> web.Response:
    """Body (optional): ``{"by": "who decided"}``."""
    try:
        body = loads(await request.read() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return reply({"status": "rejected", "errors": ['body must be {"by": "…"} or empty']}, 422)
    accept = request.match_info["decision"] == "accept"
    try:
        async with request.app[SERVICES].context() as ctx:
            record = await friends.decide_friend_request(
                ctx, request.match_info["id"], accept=accept, by=str(body.get("by", "ops"))
            )
    except friends.FriendRequestRefused as refusal:
        status = "not_found" if refusal.status == 404 else "rejected"
        return reply({"status": status, "reason": str(refusal)}, refusal.status)
    return reply({"status": record.status, "id": record.id})


@routes.get("/api/outbox")
async def outbox(request: web.Request) -> web.Response:
    status = request.query.get("status", "dead")
    errors = [f"status must be one of {', '.join(STATUSES)}"] if status not in STATUSES else []
    services = request.app[SERVICES]
    try:
        day = date.fromisoformat(request.query["day"]) if "day" in request.query else None
    except ValueError:
        errors.append("day must be a date, YYYY-MM-DD")
    if errors:
        return reply({"status": "rejected", "errors": errors}, 422)
    day = day or local_day(services.settings, services.clock.now())
    async with services.db.reading() as session:
        counts = dict(
            (await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))).all()
        )
        waiting = dict(
            (
                await session.execute(
                    select(OutboxMessage.priority, func.count())
                    .where(OutboxMessage.status == "queued")
                    .group_by(OutboxMessage.priority)
                )
            ).all()
        )
        drops = await drops_on(session, day)
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == status).order_by(OutboxMessage.id.desc()).limit(100)
        )
        items = [
            {
                "id": r.id,
                "account": r.account,
                "kind": r.kind,
                "target": r.target,
                "status": r.status,
                "template": r.template,
                "priority": r.priority,
                "text": r.text,
                "attempts": r.attempts,
                "last_error": r.last_error,
                "created_at": r.created_at,
                "sent_at": r.sent_at,
            }
            for r in rows
        ]
    return reply(
        {
            "counts": {s: counts.get(s, 0) for s in STATUSES},
            # Queued rows by priority tier (bot.base.priorities), and the cap on the lowest tier.
            "queued_by_priority": {p.name.lower(): waiting.get(p.value, 0) for p in Priority},
            "low_priority_cap": services.settings.raw.outbox.low_priority_cap,
            # What was not sent on purpose that day (platform time): not queued at the cap,
            # answers withheld by the per-person limits, repeats of an answer just given.
            "not_queued": {
                "day": day.isoformat(),
                "total": sum(d.count for d in drops),
                "by_reason": {r: sum(d.count for d in drops if d.reason == r) for r in DROP_REASONS},
                "rows": [
                    {"account": d.account, "reason": d.reason, "template": d.template, "count": d.count} for d in drops
                ],
            },
            "status": status,
            "messages": items,
        }
    )


@routes.post("/api/outbox/{id}/{action:retry|drop}")
async def resolve(request: web.Request) -> web.Response:
    """``retry`` queues a dead or uncertain message again; ``drop`` makes sure it is never sent."""
    services = request.app[SERVICES]
    message_id = row_id(request.match_info["id"])
    retrying = request.match_info["action"] == "retry"
    async with services.context() as ctx:
        if message_id is None or await ctx.session.get(OutboxMessage, message_id) is None:
            return reply({"status": "not_found", "reason": "no such message"}, 404)
        done = await (box.retry(ctx.session, message_id, ctx.now) if retrying else box.drop(ctx.session, message_id))
    if not done:
        reason = "only a dead-lettered or uncertain message can be retried or dropped"
        return reply({"status": "rejected", "reason": reason}, 409)
    return reply({"status": "queued" if retrying else "dropped", "id": message_id})


@routes.get("/api/entry-applications")
async def entry_applications(request: web.Request) -> web.Response:
    status = request.query.get("status", "pending")
    async with request.app[SERVICES].db.reading() as session:
        rows = await session.scalars(
            select(EntryApplication).where(EntryApplication.status == status).order_by(EntryApplication.id).limit(200)
        )
        items = [
            {
                "id": r.id,
                "contact": r.contact_id,
                "name": r.name,
                "path": r.path,
                "declared_friends": r.declared_friends,
                "declared_groups": r.declared_groups,
                "status": r.status,
                "created_at": r.created_at,
                "decided_by": r.decided_by,
                "note": r.note,
            }
            for r in rows
        ]
    return reply({"status": status, "applications": items})


@routes.post("/api/entry-applications/{id}/{decision:approve|reject}")
async def decide_entry_application(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    application_id = row_id(request.match_info["id"])
    if application_id is None:
        return reply({"status": "not_found", "reason": "no such application"}, 404)
    try:
        body = loads(await request.read() or b"{}")
    except ValueError as error:
        return reply({"status": "rejected", "errors": [body_problem(error)]}, 422)
    if not isinstance(body, dict):
        return reply({"status": "rejected", "errors": ['body must be {"reason": "…", "by": "…"}']}, 422)
    approve = request.match_info["decision"] == "approve"
    try:
        async with services.context() as plain:
            ctx = MessageContext(plain.session, plain.settings, plain.renderer, plain.now)
            application = await decide_application(
                ctx, application_id, approve=approve, by=str(body.get("by", "ops")), reason=str(body.get("reason", ""))
            )
    except ApplicationRefused as refusal:
        return reply(
            {"status": "not_found" if refusal.status == 404 else "rejected", "reason": str(refusal)}, refusal.status
        )
    return reply({"status": application.status, "id": application.id})

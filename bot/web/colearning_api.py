"""Ops API for co-learning (共学营); Bearer auth as for all of ``/api/``. Mounted by
``bot.web.app`` with ``app.add_routes(colearning_api.routes)``.

- ``GET /api/colearning/sessions[?status=scheduled|cancelled|all]``: sessions, newest first
- ``POST /api/colearning/sessions``: create, 201. ``{title, source_room, lecturers, starts_at,
  ends_at, course?, brand?, groups?: "all" | [application ids], reminders?: ["24h", "1h",
  "10m"] (the default), cards?: ["30m"], keyword?}``
- ``GET /api/colearning/sessions/{id}``: the session and, per group: members at the start,
  messages relayed, orders and amount sold by the group's distributor during the session
- ``PATCH /api/colearning/sessions/{id}``: any of the create fields; the jobs move
- ``DELETE /api/colearning/sessions/{id}`` or ``POST …/{id}/cancel {reason?}``: the groups are told
- ``GET /api/colearning/applications[?status=pending|approved|enrolled|rejected|left|all]``
- ``POST /api/colearning/applications/{id}/approve {by?}``: the helper accepts the
  invitation, the group is enrolled, the distributor is told
- ``POST /api/colearning/applications/{id}/reject {reason, by?}``: the distributor is told why

Times without an offset are the platform's local time. Answers: 404 unknown id, 409 not in a
state that allows it (cancelled, over, already decided), 422 bad input with every problem.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.base.env import Env
from bot.base.jsonutil import BodyRefused, body_problem, loads, row_id
from bot.web.errors import lists_problems, reply
from bot.web.keys import ENV, api_actor
from models.statuses import ApplicationStatus
from services import colearning as ops
from services.errors import Invalid, NotFound
from services.reports import local_zone
from services.session_draft import SessionDraft

routes = web.RouteTableDef()


def _id(request: web.Request) -> int | None:
    return row_id(request.match_info["id"])


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    body = loads(raw)
    if not isinstance(body, dict):
        raise BodyRefused("the body must be a JSON object")
    return body


async def _change(
    request: web.Request, action: Callable[[Any, dict[str, Any]], Awaitable[Any]], ok: int = 200
) -> web.Response:
    """Run one change in a unit of work (the timer and the relay filter learn of it once it
    commits: ``services.colearning.ColearningChanged``)."""
    env: Env = request.app[ENV]
    try:
        body = await _body(request)
    except ValueError as exc:
        raise Invalid([f"body: {body_problem(exc)}"]) from None
    async with env.context(api_actor(body.get("by"))) as ctx:
        result = await action(ctx, body)
    return reply(result, ok)


@routes.get("/api/colearning/sessions")
@lists_problems
async def sessions(request: web.Request) -> web.Response:
    status = request.query.get("status", "all")
    if status not in ops.SESSION_STATUSES:
        raise Invalid([f"status must be one of {', '.join(ops.SESSION_STATUSES)}"])
    env = request.app[ENV]
    async with env.db.reading() as session:
        return reply({"sessions": await ops.list_sessions(session, status)})


@routes.post("/api/colearning/sessions")
@lists_problems
async def create(request: web.Request) -> web.Response:
    async def action(ctx: Any, body: dict[str, Any]) -> dict[str, Any]:
        row = await ops.create_session(ctx, SessionDraft.parse(body, local_zone(ctx.settings)))
        return {"status": "created", "session": ops.session_view(row)}

    return await _change(request, action, 201)


@routes.get("/api/colearning/sessions/{id}")
@lists_problems
async def detail(request: web.Request) -> web.Response:
    env, session_id = request.app[ENV], _id(request)
    async with env.db.reading() as session:
        report = await ops.session_report(session, session_id) if session_id is not None else None
    if report is None:
        raise NotFound("no such co-learning session")
    return reply(report)


@routes.patch("/api/colearning/sessions/{id}")
@lists_problems
async def edit(request: web.Request) -> web.Response:
    session_id = _id(request)

    async def action(ctx: Any, body: dict[str, Any]) -> dict[str, Any]:
        if session_id is None:
            raise NotFound("no such co-learning session")
        row = await ops.edit_session(ctx, session_id, SessionDraft.parse(body, local_zone(ctx.settings)))
        return {"status": "updated", "session": ops.session_view(row)}

    return await _change(request, action)


@lists_problems
async def _cancel(request: web.Request) -> web.Response:
    session_id = _id(request)

    async def action(ctx: Any, body: dict[str, Any]) -> dict[str, Any]:
        if session_id is None:
            raise NotFound("no such co-learning session")
        row = await ops.cancel_session(ctx, session_id, str(body.get("reason") or ""))
        return {"status": "cancelled", "session": ops.session_view(row)}

    return await _change(request, action)


routes.delete("/api/colearning/sessions/{id}")(_cancel)
routes.post("/api/colearning/sessions/{id}/cancel")(_cancel)


@routes.get("/api/colearning/applications")
@lists_problems
async def applications(request: web.Request) -> web.Response:
    status = request.query.get("status", ApplicationStatus.PENDING)
    if status not in ops.APPLICATION_STATUSES:
        allowed = ", ".join(ops.APPLICATION_STATUSES)
        raise Invalid([f"status must be one of {allowed}"])
    env = request.app[ENV]
    async with env.db.reading() as session:
        return reply({"status": status, "applications": await ops.list_applications(session, status)})


@routes.post("/api/colearning/applications/{id}/approve")
@lists_problems
async def approve(request: web.Request) -> web.Response:
    application_id = _id(request)

    async def action(ctx: Any, body: dict[str, Any]) -> dict[str, Any]:
        if application_id is None:
            raise NotFound("no such co-learning application")
        app = await ops.approve_application(ctx, application_id, str(body.get("by") or "ops"))
        return {"status": app.status, "id": app.id}

    return await _change(request, action)


@routes.post("/api/colearning/applications/{id}/reject")
@lists_problems
async def reject(request: web.Request) -> web.Response:
    application_id = _id(request)

    async def action(ctx: Any, body: dict[str, Any]) -> dict[str, Any]:
        if application_id is None:
            raise NotFound("no such co-learning application")
        reason = str(body.get("reason") or "")
        app = await ops.reject_application(ctx, application_id, reason, str(body.get("by") or "ops"))
        return {"status": app.status, "id": app.id, "reason": app.reason}

    return await _change(request, action)

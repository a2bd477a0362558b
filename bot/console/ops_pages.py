"""Ops-only console pages: distributors (search, earnings, upgrade progress, entry
applications) and co-learning (sessions, applications); the outbox is in ``outbox_pages``.
Co-learning changes go through ``services.colearning``, the same functions as the API and CLI."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from bot.console.auth import User
from bot.console.base import Form, fields, ident, not_found, page, render, see_other, zone_of
from bot.web.errors import status_of
from bot.web.keys import ENV
from models.colearning import ColearningSession
from models.people import Distributor, EntryApplication
from models.statuses import ApplicationStatus, EntryApplicationStatus, SessionStatus
from services import colearning as ops
from services import reports
from services.entry import decide_application
from services.errors import Conflict, NotFound, ServiceError
from services.session_draft import SessionDraft

routes = web.RouteTableDef()
SESSION_FIELDS = ("title", "source_room", "lecturers", "starts_at", "ends_at", "course", "groups", "reminders", "cards")


@routes.get("/console/distributors")
@page(ops_only=True)
async def distributors(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    term = request.query.get("q", "").strip()[:64]
    levels = request.app[ENV].settings.level_codes
    level = request.query.get("level", "")
    recruiter = aliased(Distributor)
    query = (
        select(Distributor, recruiter.name)
        .outerjoin(recruiter, recruiter.id == Distributor.recruiter_id)
        .order_by(Distributor.code)
        .limit(100)
    )
    if term:
        like = f"%{term.replace('%', '').replace('_', '')}%"
        query = query.where(or_(Distributor.code.ilike(like), Distributor.name.ilike(like)))
    if level in levels:
        query = query.where(Distributor.level == level)
    async with request.app[ENV].db.reading() as session:
        people = list(await session.execute(query))
        entries = list(
            await session.scalars(
                select(EntryApplication)
                .where(EntryApplication.status == EntryApplicationStatus.PENDING)
                .order_by(EntryApplication.id)
            )
        )
    return render(
        request,
        "distributors.html",
        user,
        section="distributors",
        term=term,
        people=people,
        entries=entries,
        levels=levels,
        level=level,
    )


@routes.get("/console/distributors/{code}")
@page(ops_only=True)
async def distributor(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    env, code = request.app[ENV], request.match_info["code"]
    async with env.db.reading() as session:
        earnings = await reports.earnings_report(session, env.settings, code, env.clock.now())
        progress = await reports.progress_report(session, env.settings, code)
    if earnings is None or progress is None:
        return not_found(request, user)
    return render(
        request,
        "distributor.html",
        user,
        section="distributors",
        earnings=earnings,
        progress=progress,
        kinds=reports.KIND_NAMES,
        metrics=reports.METRIC_NAMES,
        entries=reports.ENTRY_NAMES,
    )


async def _colearning_page(
    request: web.Request, user: User, problems: list[str] | None = None, values: dict[str, str] | None = None
) -> web.Response:
    env = request.app[ENV]
    now = env.clock.now()
    async with env.db.reading() as session:
        sessions = [s for s in await ops.list_sessions(session, SessionStatus.SCHEDULED) if s["ends_at"] > now]
        applications = await ops.list_applications(session, ApplicationStatus.PENDING)
        enrolled = await ops.list_applications(session, ApplicationStatus.ENROLLED)
    sessions.sort(key=lambda s: s["starts_at"])
    return render(
        request,
        "colearning.html",
        user,
        http_status=422 if problems else 200,
        section="colearning",
        sessions=sessions,
        applications=applications,
        enrolled=enrolled,
        courses=env.settings.courses,
        problems=problems or [],
        values=values or {},
    )


@routes.get("/console/colearning")
@page(ops_only=True)
async def colearning(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    return await _colearning_page(request, user)


def _session_data(form: Form, *, editing: bool) -> dict[str, Any]:
    """The form's fields as ``services.colearning`` takes them; blanks left out (a blank course
    when editing means no course)."""
    given = fields(form, SESSION_FIELDS)
    data: dict[str, Any] = {key: value for key, value in given.items() if value}
    if editing:  # emptied on the form means none, not "unchanged"
        if "course" in form and not given["course"]:
            data["course"] = None
        for key in ("cards", "reminders"):
            if key in form and not given[key]:
                data[key] = []
    return data


@routes.post("/console/colearning/sessions")
@page(ops_only=True)
async def create_session(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    env = request.app[ENV]
    try:
        async with env.context(user.actor) as ctx:
            await ops.create_session(ctx, SessionDraft.parse(_session_data(form, editing=False), zone_of(request)))
    except ServiceError as refusal:
        return await _colearning_page(request, user, refusal.problems, fields(form, SESSION_FIELDS))
    raise see_other("/console/colearning?ok=created")


def _form_values(row: ColearningSession, request: web.Request) -> dict[str, str]:
    zone = zone_of(request)
    return {
        "title": row.title,
        "source_room": row.source_room,
        "lecturers": ", ".join(row.lecturers or []),
        "starts_at": row.starts_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": row.ends_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "course": row.course_sku or "",
        "groups": "all" if row.group_ids is None else ", ".join(str(i) for i in row.group_ids),
        "reminders": ", ".join(f"{m}m" for m in row.reminders or []),
        "cards": ", ".join(f"{m}m" for m in row.cards or []),
    }


@routes.get("/console/colearning/sessions/{id}")
@page(ops_only=True)
async def edit_form(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    session_id = ident(request.match_info["id"])
    async with request.app[ENV].db.reading() as session:
        row = await session.get(ColearningSession, session_id) if session_id is not None else None
    if row is None:
        return not_found(request, user)
    values = _form_values(row, request)
    courses = request.app[ENV].settings.courses
    return render(
        request, "session.html", user, section="colearning", row=row, values=values, problems=[], courses=courses
    )


@routes.post("/console/colearning/sessions/{id}")
@page(ops_only=True)
async def edit_session(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    env, session_id = request.app[ENV], ident(request.match_info["id"])
    if session_id is None:
        return not_found(request, user)
    try:
        async with env.context(user.actor) as ctx:
            data = _session_data(form, editing=True)
            row = await ctx.session.get(ColearningSession, session_id)
            if row is not None and data.get("starts_at") == _form_values(row, request)["starts_at"]:
                del data["starts_at"]  # the form shows minutes: unchanged is not a move
            await ops.edit_session(ctx, session_id, SessionDraft.parse(data, zone_of(request)))
    except NotFound:
        return not_found(request, user)
    except ServiceError as refusal:
        async with env.db.reading() as session:
            row = await session.get(ColearningSession, session_id)
        return render(
            request,
            "session.html",
            user,
            http_status=status_of(refusal),
            section="colearning",
            row=row,
            values=fields(form, SESSION_FIELDS),
            problems=refusal.problems,
            courses=env.settings.courses,
        )
    raise see_other("/console/colearning?ok=updated")


async def _decide(request: web.Request, user: User, action: str, form: Form) -> web.StreamResponse:
    env, target = request.app[ENV], ident(request.match_info["id"])
    if target is None:
        return not_found(request, user)
    try:
        async with env.context(user.actor) as ctx:
            if action == "cancel":
                await ops.cancel_session(ctx, target, str(form.get("reason", "")))
            elif action == "approve":
                await ops.approve_application(ctx, target, user.name)
            else:
                await ops.reject_application(ctx, target, str(form.get("reason", "")), user.name)
    except NotFound:
        return not_found(request, user)
    except ServiceError as refusal:
        return await _colearning_page(request, user, refusal.problems)
    done = {"cancel": "cancelled", "approve": "approved", "reject": "rejected"}[action]
    raise see_other(f"/console/colearning?ok={done}")


@routes.post("/console/colearning/sessions/{id}/cancel")
@page(ops_only=True)
async def cancel_session(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    return await _decide(request, user, "cancel", form)


@routes.post("/console/colearning/applications/{id}/approve")
@page(ops_only=True)
async def approve(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    return await _decide(request, user, "approve", form)


@routes.post("/console/colearning/applications/{id}/reject")
@page(ops_only=True)
async def reject(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    return await _decide(request, user, "reject", form)


async def _entry_decision(request: web.Request, user: User, form: Form, approve: bool) -> web.StreamResponse:
    env, target = request.app[ENV], ident(request.match_info["id"])
    if target is None:
        return not_found(request, user)
    try:
        async with env.context(user.actor) as ctx:
            await decide_application(ctx, target, approve=approve, by=user.name, reason=str(form.get("reason", "")))
    except NotFound:
        return not_found(request, user)
    except Conflict:
        raise see_other("/console/distributors?ok=already") from None
    raise see_other(f"/console/distributors?ok={'approved' if approve else 'rejected'}")


@routes.post("/console/entry-applications/{id}/approve")
@page(ops_only=True)
async def approve_entry(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    return await _entry_decision(request, user, form, approve=True)


@routes.post("/console/entry-applications/{id}/reject")
@page(ops_only=True)
async def reject_entry(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    return await _entry_decision(request, user, form, approve=False)

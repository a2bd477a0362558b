"""Co-learning (共学营) operations shared by the ops API, the console and the CLI: sessions
created, edited and cancelled (from a :class:`~services.session_draft.SessionDraft`);
applications approved or rejected; the enrolled groups of a session and what each got from it.
Each operation works inside the caller's unit of work and raises :mod:`services.errors` when it
cannot be done: NotFound (no such session or application), Conflict (cancelled, over, decided
already), Invalid (bad input, every problem listed).

The timing rules are in ``core.colearning``; the timer that acts on them is ``bot.runtime.scheduler``.
Every change here emits :class:`ColearningChanged` on the unit of work: once it commits, the
timer of this process moves its jobs and the relay filter learns the source rooms
(``bot.app`` says who reacts) — no caller has to remember to tell them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.config import Settings
from bot.base.context import Context
from bot.base.outbox import queue_row, queue_text
from bot.base.transport import RoomInvitation
from core.colearning import DEFAULT_REMINDERS, SessionPlan, check_session, moments
from models.base import money_sum
from models.colearning import ColearningApplication, ColearningDelivery, ColearningGroupRecord, ColearningSession
from models.orders import Order
from models.people import Distributor
from models.rooms import RoomInvitationRecord
from models.statuses import ApplicationStatus, DeliveryStatus, DistributorStatus, InvitationStatus, SessionStatus
from services import audit
from services.errors import Conflict, Invalid, NotFound
from services.session_draft import SessionDraft


@dataclass(frozen=True)
class ColearningChanged:
    """Sessions or their groups changed: the timer's jobs and the relay's source rooms are
    out of date."""


# What the listings take: a status, or every row ("all").
APPLICATION_STATUSES = (*(s.value for s in ApplicationStatus), "all")
SESSION_STATUSES = (*(s.value for s in SessionStatus), "all")


# ------------------------------------------------------------------------------------ groups


async def groups_of(session: AsyncSession, row: ColearningSession) -> list[ColearningApplication]:
    """The enrolled groups a session goes to: every enrolled group, or the chosen ones."""
    query = select(ColearningApplication).where(
        ColearningApplication.status == ApplicationStatus.ENROLLED, ColearningApplication.room_id != ""
    )
    if row.group_ids is not None:
        query = query.where(ColearningApplication.id.in_(row.group_ids or [0]))
    return list(await session.scalars(query.order_by(ColearningApplication.id)))


def queue_to_groups(
    ctx: Context, groups: Iterable[ColearningApplication], template: str, data: Mapping[str, Any]
) -> None:
    for group in groups:
        queue_text(ctx, target=group.room_id, room=True, template=template, data=data, account=group.account)


def session_data(row: ColearningSession, settings: Settings) -> dict[str, Any]:
    """What the group texts say about a session."""
    course = settings.courses.get(row.course_sku or "")
    return {
        "session": row.title,
        "starts_at": row.starts_at,
        "ends_at": row.ends_at,
        "course": course.name if course else "",
    }


# ---------------------------------------------------------------------------------- sessions


def _unknown_references(values: Mapping[str, Any], settings: Settings) -> list[str]:
    problems = []
    if values.get("course") and values["course"] not in settings.courses:
        problems.append(f"course: no course has the sku {values['course']!r}")
    if values.get("brand") and values["brand"] not in settings.brands:
        problems.append(f"brand: no brand has the id {values['brand']!r}")
    return problems


async def _check_groups(session: AsyncSession, ids: list[int] | None) -> list[str]:
    if ids is None:
        return []
    if not ids:
        return ['groups: choose at least one group, or "all"']
    known = set(
        await session.scalars(
            select(ColearningApplication.id).where(
                ColearningApplication.id.in_(ids),
                ColearningApplication.status.in_((ApplicationStatus.APPROVED, ApplicationStatus.ENROLLED)),
            )
        )
    )
    missing = [i for i in ids if i not in known]
    return [f"groups: {missing} are not approved groups (see the applications)"] if missing else []


def _apply(row: ColearningSession, values: Mapping[str, Any], settings: Settings) -> None:
    simple = {"title": "title", "source_room": "source_room", "lecturers": "lecturers", "starts_at": "starts_at"}
    simple |= {"ends_at": "ends_at", "reminders": "reminders", "cards": "cards", "groups": "group_ids"}
    for key, column in simple.items():
        if key in values:
            setattr(row, column, values[key])
    if "course" in values:
        row.course_sku = values["course"]
        if values["course"] and "brand" not in values:
            row.brand_id = settings.course_brand[values["course"]]
    if "brand" in values:
        row.brand_id = values["brand"]
    if "keyword" in values:
        row.buy_keyword = values["keyword"]
    if not row.buy_keyword and row.brand_id in settings.brands:
        row.buy_keyword = settings.brands[row.brand_id].keywords[0]


def _plan(row: ColearningSession) -> SessionPlan:
    return SessionPlan(
        row.title or "",
        row.source_room or "",
        row.lecturers or [],
        row.starts_at,
        row.ends_at,
        row.reminders or [],
        row.cards or [],
        has_course=bool(row.course_sku),
    )


async def create_session(ctx: Context, draft: SessionDraft) -> ColearningSession:
    """A new session from ``draft``; Invalid lists every problem (its input's, unknown course
    or brand, missing fields, then the timing rules and the groups)."""
    values = draft.given()
    problems = [*draft.problems, *_unknown_references(values, ctx.settings), *draft.missing()]
    if problems:
        raise Invalid(problems)
    row = ColearningSession(status=SessionStatus.SCHEDULED, created_at=ctx.now, updated_at=ctx.now, relay_segment=0)
    row.reminders, row.cards, row.group_ids, row.buy_keyword = list(DEFAULT_REMINDERS), [], None, ""
    row.brand_id, row.course_sku, row.cancel_reason = None, None, ""
    _apply(row, values, ctx.settings)
    problems = check_session(_plan(row), ctx.now) + await _check_groups(ctx.session, row.group_ids)
    if problems:
        raise Invalid(problems)
    ctx.session.add(row)
    await ctx.session.flush()
    ctx.uow.emit(ColearningChanged())
    audit.record(
        ctx, "sessions", "colearning.create", subject=f"session {row.id}", brand_id=row.brand_id, after=_audited(row)
    )
    return row


async def _session(ctx: Context, session_id: int) -> ColearningSession:
    row = await ctx.session.get(ColearningSession, session_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no co-learning session has the id {session_id}")
    if row.status == SessionStatus.CANCELLED:
        raise Conflict("the session is cancelled")
    if row.ends_at <= ctx.now:
        raise Conflict("the session is over")
    return row


async def edit_session(ctx: Context, session_id: int, draft: SessionDraft) -> ColearningSession:
    """Change what ``draft`` gives; the timer moves the jobs. A new start time re-plans the
    reminders, and the groups already told the old time are told the new one."""
    row = await _session(ctx, session_id)
    values = draft.given()
    problems = [*draft.problems, *_unknown_references(values, ctx.settings)]
    if problems:
        raise Invalid(problems)
    started = row.starts_at <= ctx.now
    moved = "starts_at" in values and values["starts_at"] != row.starts_at
    if started and moved:
        raise Conflict("starts_at: the session has started; its start cannot move (the end can)")
    told = await _groups_told(ctx.session, row.id) if moved else []
    before = _audited(row)
    _apply(row, values, ctx.settings)
    problems = check_session(_plan(row), ctx.now, started=started) + await _check_groups(ctx.session, row.group_ids)
    if problems:
        raise Invalid(problems)
    row.updated_at = ctx.now
    ctx.uow.emit(ColearningChanged())
    audit.record(
        ctx,
        "sessions",
        "colearning.edit",
        subject=f"session {row.id}",
        brand_id=row.brand_id,
        before=before,
        after=_audited(row),
    )
    if moved:
        await ctx.session.execute(
            delete(ColearningDelivery).where(
                ColearningDelivery.session_id == row.id, ColearningDelivery.moment.like("reminder:%")
            )
        )
        current = {g.id for g in await groups_of(ctx.session, row)}
        queue_to_groups(
            ctx, [g for g in told if g.id in current], "colearning_rescheduled", session_data(row, ctx.settings)
        )
    return row


async def _groups_told(session: AsyncSession, session_id: int) -> list[ColearningApplication]:
    told = select(ColearningDelivery.application_id).where(
        ColearningDelivery.session_id == session_id, ColearningDelivery.status == DeliveryStatus.SENT
    )
    return list(await session.scalars(select(ColearningApplication).where(ColearningApplication.id.in_(told))))


async def cancel_session(ctx: Context, session_id: int, reason: str = "") -> ColearningSession:
    """Cancelled: no more reminders or relays (the timer drops the jobs); the groups are told."""
    row = await _session(ctx, session_id)
    row.status, row.cancelled_at, row.cancel_reason, row.updated_at = (
        SessionStatus.CANCELLED,
        ctx.now,
        reason.strip(),
        ctx.now,
    )
    audit.record(
        ctx,
        "sessions",
        "colearning.cancel",
        subject=f"session {row.id}",
        brand_id=row.brand_id,
        before={"status": SessionStatus.SCHEDULED},
        after={"status": row.status, "reason": row.cancel_reason},
    )
    data = session_data(row, ctx.settings) | {"reason": row.cancel_reason}
    queue_to_groups(ctx, await groups_of(ctx.session, row), "colearning_cancelled", data)
    ctx.uow.emit(ColearningChanged())
    return row


def _audited(row: ColearningSession) -> dict[str, Any]:
    """What the audit log keeps of a session, before and after a change."""
    return {
        "title": row.title,
        "status": row.status,
        "starts_at": row.starts_at,
        "ends_at": row.ends_at,
        "course": row.course_sku,
        "groups": row.group_ids,
    }


def session_view(row: ColearningSession) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "status": row.status,
        "brand": row.brand_id,
        "course": row.course_sku,
        "keyword": row.buy_keyword,
        "source_room": row.source_room,
        "lecturers": list(row.lecturers),
        "starts_at": row.starts_at,
        "ends_at": row.ends_at,
        "groups": "all" if row.group_ids is None else list(row.group_ids),
        "reminders": list(row.reminders),
        "cards": list(row.cards),
        "moments": [{"key": m.key, "at": m.at} for m in moments(row.starts_at, row.ends_at, row.reminders, row.cards)],
        "cancel_reason": row.cancel_reason,
    }


async def list_sessions(session: AsyncSession, status: str = "all") -> list[dict[str, Any]]:
    """Sessions in ``status`` (one of SESSION_STATUSES), newest first, at most 200."""
    query = select(ColearningSession).order_by(ColearningSession.starts_at.desc(), ColearningSession.id.desc())
    if status != "all":
        query = query.where(ColearningSession.status == SessionStatus(status))
    return [session_view(row) for row in await session.scalars(query.limit(200))]


async def session_report(session: AsyncSession, session_id: int) -> dict[str, Any] | None:
    """The session and, per group: members at the start, messages relayed, and the orders the
    group's distributor sold during the session (a distributor's orders show on each of their
    groups: an order does not say which group it came from)."""
    row = await session.get(ColearningSession, session_id)
    if row is None:
        return None
    records = {
        r.application_id: r
        for r in await session.scalars(select(ColearningGroupRecord).where(ColearningGroupRecord.session_id == row.id))
    }
    groups = await groups_of(session, row)
    ids = sorted({g.id for g in groups} | set(records))
    apps = list(await session.scalars(select(ColearningApplication).where(ColearningApplication.id.in_(ids or [0]))))
    people = {
        d.id: d
        for d in await session.scalars(
            select(Distributor).where(Distributor.id.in_({a.distributor_id for a in apps} or {0}))
        )
    }
    sales = {
        seller: (int(count), amount)
        for seller, count, amount in await session.execute(
            select(Order.seller_id, func.count(Order.id), money_sum(Order.amount))
            .where(
                Order.seller_id.in_(list(people) or [0]), Order.paid_at >= row.starts_at, Order.paid_at < row.ends_at
            )
            .group_by(Order.seller_id)
        )
    }
    lines = []
    for app in sorted(apps, key=lambda a: a.id):
        record, who = records.get(app.id), people[app.distributor_id]
        count, amount = sales.get(who.id, (0, Decimal("0.00")))
        lines.append(
            {
                "application": app.id,
                "room": app.room_id,
                "topic": app.topic,
                "distributor": {"code": who.code, "name": who.name},
                "members_at_start": record.members_at_start if record else None,
                "relayed": record.relayed if record else 0,
                "orders": count,
                "amount": amount,
            }
        )
    return {"session": session_view(row), "groups": lines}


# ------------------------------------------------------------------------------ applications


async def apply_from_invitation(ctx: Context, invited: RoomInvitation, *, account: str) -> None:
    """An invitation of the helper (account ``account``) into a room, from an active
    distributor, is a co-learning application (once per invitation): the distributor hears it
    arrived, ops hear there is one to decide. The invitation itself is recorded by the caller
    (:func:`services.friends.record_room_invitation`)."""
    who = await ctx.session.scalar(
        select(Distributor).where(
            Distributor.contact_id == invited.inviter, Distributor.status == DistributorStatus.ACTIVE
        )
    )
    known = await ctx.session.scalar(
        select(ColearningApplication.id).where(ColearningApplication.invitation_id == invited.id)
    )
    if who is None or known is not None:
        return
    application = ColearningApplication(
        invitation_id=invited.id,
        distributor_id=who.id,
        account=account,
        room_id=invited.room or "",
        topic=invited.topic,
        member_count=invited.member_count,
        status=ApplicationStatus.PENDING,
        reason="",
        created_at=ctx.now,
    )
    await ctx.session.flush()  # the invitation row first: the application refers to it
    ctx.session.add(application)
    await ctx.session.flush()
    data = {"name": who.name, "code": who.code, "topic": invited.topic, "members": invited.member_count}
    queue_text(
        ctx, target=who.contact_id or invited.inviter, template="colearning_received", data=data, account=account
    )
    for ops in ctx.settings.raw.ops:
        queue_text(ctx, target=ops, template="colearning_ops_new", data=data | {"id": application.id}, account=account)


def application_view(app: ColearningApplication, who: Distributor | None) -> dict[str, Any]:
    return {
        "id": app.id,
        "status": app.status,
        "distributor": {"code": who.code, "name": who.name} if who else None,
        "room": app.room_id,
        "topic": app.topic,
        "member_count": app.member_count,
        "account": app.account,
        "reason": app.reason,
        "received_at": app.created_at,
        "decided_at": app.decided_at,
        "decided_by": app.decided_by,
    }


async def list_applications(session: AsyncSession, status: str = ApplicationStatus.PENDING) -> list[dict[str, Any]]:
    """Applications in ``status`` (one of APPLICATION_STATUSES), oldest first, at most 500."""
    query = select(ColearningApplication, Distributor).join(
        Distributor, Distributor.id == ColearningApplication.distributor_id
    )
    if status != "all":
        query = query.where(ColearningApplication.status == ApplicationStatus(status))
    rows = await session.execute(query.order_by(ColearningApplication.id).limit(500))
    return [application_view(app, who) for app, who in rows]


async def _pending(ctx: Context, application_id: int) -> tuple[ColearningApplication, Distributor]:
    app = await ctx.session.get(ColearningApplication, application_id, with_for_update=True)
    if app is None:
        raise NotFound(f"no co-learning application has the id {application_id}")
    if app.status != ApplicationStatus.PENDING:
        raise Conflict(f"the application is already {app.status}")
    who = await ctx.session.get(Distributor, app.distributor_id)
    assert who is not None
    return app, who


async def approve_application(ctx: Context, application_id: int, by: str = "ops") -> ColearningApplication:
    """The helper accepts the invitation (an outbox row) and the group is enrolled (once the
    room id is known: with wechaty it arrives when the helper joins); the distributor hears."""
    app, who = await _pending(ctx, application_id)
    app.status = ApplicationStatus.ENROLLED if app.room_id else ApplicationStatus.APPROVED
    app.decided_at, app.decided_by = ctx.now, by
    audit.record(
        ctx,
        "sessions",
        "colearning.approve",
        subject=f"application {app.id}",
        before={"status": ApplicationStatus.PENDING},
        after={"status": app.status, "distributor": who.code},
    )
    invitation = await ctx.session.get(RoomInvitationRecord, app.invitation_id)
    if invitation is not None:
        invitation.status = InvitationStatus.ACCEPTED
    queue_row(ctx, account=app.account, kind="room_invitation_accept", target=app.invitation_id)
    if who.contact_id:
        data = {"name": who.name, "topic": app.topic}
        queue_text(ctx, target=who.contact_id, template="colearning_approved", data=data, account=app.account)
    ctx.uow.emit(ColearningChanged())
    return app


async def reject_application(ctx: Context, application_id: int, reason: str, by: str = "ops") -> ColearningApplication:
    reason = reason.strip()
    if not reason:
        raise Invalid(["reason: say why, the distributor is told"])
    app, who = await _pending(ctx, application_id)
    app.status, app.reason, app.decided_at, app.decided_by = ApplicationStatus.REJECTED, reason, ctx.now, by
    audit.record(
        ctx,
        "sessions",
        "colearning.reject",
        subject=f"application {app.id}",
        before={"status": ApplicationStatus.PENDING},
        after={"status": app.status, "distributor": who.code},
        note=reason,
    )
    invitation = await ctx.session.get(RoomInvitationRecord, app.invitation_id)
    if invitation is not None:
        invitation.status = InvitationStatus.DECLINED
    if who.contact_id:
        data = {"name": who.name, "topic": app.topic, "reason": reason}
        queue_text(ctx, target=who.contact_id, template="colearning_rejected", data=data, account=app.account)
    ctx.uow.emit(ColearningChanged())
    return app

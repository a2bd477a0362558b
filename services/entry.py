"""Joining the platform: registration with a code (typed, or in a friend request's greeting),
applications by declared reach, and ops' decisions on them.

Who may join, and with which recruiter, is :func:`core.entry.decide_entry`'s decision: a
personal code makes its owner the recruiter (if their level may recruit), a platform code is
single-use and consumed. The link is checked by :func:`core.entry.check_recruiter`. The new
distributor is welcomed and invited into the material group (素材群); the recruiter hears of
it. Wrong codes get a clear answer each; after ``dm.code_failures`` of them within
``dm.code_failure_window_minutes`` the person is asked to wait.

Answers go through ``say`` (template, data): the chat handler's reply, or a DM queued to the
person when no message is being answered (a friend request, an ops decision).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.config import BrandSettings, Settings
from bot.base.context import Context
from bot.base.outbox import queue_row, queue_text
from bot.base.transport import FriendRequest
from core.entry import (
    Applicant,
    CodeFacts,
    CodeKind,
    EntryDecision,
    Outcome,
    Path,
    Refusal,
    check_recruiter,
    decide_entry,
)
from models import marks
from models.base import rowcount
from models.people import Distributor, EntryApplication, PlatformCode
from models.rooms import RoomMember
from models.statuses import DistributorStatus, EntryApplicationStatus
from services import audit
from services.codes import new_code, normalise_code
from services.errors import Conflict, NotFound

Say = Callable[[str, dict[str, Any]], None]
_CODE_IN_GREETING = re.compile(r"[0-9A-Za-z]{6,16}")


def join_answer(settings: Settings, *asked: BrandSettings) -> dict[str, Any]:
    """The data of ``how_to_join``: the configured ways in, naming the brands the person asked
    for (one answer for "数学 阅读", not one per brand)."""
    entry = settings.raw.entry
    reach = entry.reach if Path.REACH in entry.paths else None
    return {
        "platform": settings.raw.platform.name,
        "asked": "、".join(b.name for b in asked),
        "keyword": asked[0].keywords[0] if asked else "",
        "code": Path.CODE in entry.paths,
        "open": Path.OPEN in entry.paths,
        "reach": reach.model_dump() if reach else None,
        "purchase": entry.purchase_threshold if Path.PURCHASE in entry.paths else None,
    }


async def register_from_greeting(
    ctx: Context, request: FriendRequest, *, account: str | None, known: Distributor | None = None
) -> None:
    """Right after a friend request was accepted (its ``friend_accept`` queued): a code in the
    greeting registers the person; a greeting that was accepted for a keyword gets the
    how-to-join answer. Someone already a distributor gets nothing more. ``known``: the
    sender's distributor row where the caller has it."""
    if await _distributor_of(ctx, request.contact, known) is not None:
        return

    def say(template: str, data: dict[str, Any]) -> None:
        queue_text(ctx, target=request.contact, template=template, data=data, account=account)

    for candidate in dict.fromkeys(c.upper() for c in _CODE_IN_GREETING.findall(request.hello or "")):
        facts = await code_facts(ctx, candidate)
        if facts.kind is not None:
            await register(ctx, request.contact, request.name, candidate, say, throttled=False, account=account)
            return
    say("how_to_join", join_answer(ctx.settings))


async def register(
    ctx: Context,
    contact: str,
    name: str,
    typed: str,
    say: Say,
    *,
    throttled: bool,
    account: str | None,
    known: Distributor | None = None,
) -> None:
    """Register ``contact`` with the code they typed ('' for none), answering through ``say``;
    ``account`` is the helper account they wrote to (None: the configured one), ``known`` the
    sender's distributor row where the caller has it. ``throttled``: wrong codes count towards
    ``dm.code_failures``."""
    existing = await _distributor_of(ctx, contact, known)
    if existing is not None:
        say("register_refused", {"reason": Refusal.ALREADY_DISTRIBUTOR.value, "code": "", "mine": existing.code})
        return
    dm = ctx.settings.raw.dm
    window = timedelta(minutes=dm.code_failure_window_minutes)
    key = f"code-failures:{contact}"
    if throttled:
        failures, since = await marks.count_in_window(ctx.session, key, ctx.now, window)
        if failures >= dm.code_failures:
            say("register_wait", {"retry_at": since + window})
            return

    code = normalise_code(typed) if typed else None
    if typed and code is None:
        reason: str | None = "malformed"
    else:
        facts = await code_facts(ctx, code) if code else None
        decision = decide_entry(Applicant(person=f"contact:{contact}", code=facts), ctx.settings.entry)
        if decision.outcome is Outcome.ADMITTED:
            admitted = await admit(ctx, contact, name, decision, code, say, account=account)
            reason = None if admitted else Refusal.USED_CODE.value
        elif not typed:
            reason = "missing"  # no code given, and none of the open ways in applies
        else:
            reason = decision.refusal.value if decision.refusal else "refused"
    if reason is None:
        if throttled:
            await marks.forget(ctx.session, key)
        return
    say("register_refused", {"reason": reason, "code": code or typed, "mine": ""})
    if throttled and reason != "missing":
        await marks.bump(ctx.session, key, ctx.now, window)


async def code_facts(ctx: Context, code: str) -> CodeFacts:
    """What the database knows of ``code`` (canonical form), as core.entry wants it."""
    owner = await ctx.session.scalar(select(Distributor).where(Distributor.code == code))
    if owner is not None:
        level = ctx.settings.levels.get(owner.level)
        return CodeFacts(
            CodeKind.PERSONAL,
            owner=str(owner.id),
            owner_may_recruit=level.can_recruit if level else False,
            owner_active=owner.status == DistributorStatus.ACTIVE,
        )
    platform = await ctx.session.get(PlatformCode, code)
    if platform is not None:
        return CodeFacts(CodeKind.PLATFORM, used=platform.used_by is not None)
    return CodeFacts(None)


async def admit(
    ctx: Context, contact: str, name: str, decision: EntryDecision, code: str | None, say: Say, *, account: str | None
) -> bool:
    """Write the new distributor, consume the platform code, welcome them. False when the
    platform code was taken by someone else a moment ago (nothing is written then)."""
    session = ctx.session
    recruiter = await session.get(Distributor, int(decision.recruiter)) if decision.recruiter else None
    if recruiter is not None:
        check_recruiter(f"contact:{contact}", str(recruiter.id), await _recruiter_chain(ctx, recruiter))
    account = account or ctx.settings.helper_account
    level = ctx.settings.raw.levels[0]
    person = Distributor(
        code=await _fresh_personal_code(ctx),
        name=(name or contact)[:64],
        contact_id=contact,
        helper_account=account,
        level=level.code,
        recruiter_id=recruiter.id if recruiter else None,
        status=DistributorStatus.ACTIVE,
        entry_path=(decision.path or Path.CODE).value,
        joined_at=ctx.now,
        level_since=ctx.now,
    )
    session.add(person)
    await session.flush()
    if decision.consumes_platform_code:
        taken = await session.execute(
            update(PlatformCode)
            .where(PlatformCode.code == code, PlatformCode.used_by.is_(None))
            .values(used_by=person.id, used_at=ctx.now)
        )
        if rowcount(taken) != 1:
            await session.delete(person)
            await session.flush()
            return False
    audit.record(
        ctx,
        "membership",
        "distributor.join",
        subject=person.code,
        after={
            "name": person.name,
            "level": person.level,
            "path": person.entry_path,
            "recruiter": recruiter.code if recruiter else None,
        },
    )
    material = ctx.settings.raw.platform.material_group
    say(
        "registered",
        {
            "platform": ctx.settings.raw.platform.name,
            "name": person.name,
            "level": level.code,
            "level_name": level.name,
            "code": person.code,
            "recruiter": recruiter.name if recruiter else "",
            "material": material is not None,
            "brands": [{"name": b.name, "keyword": b.keywords[0]} for b in ctx.settings.raw.brands],
        },
    )
    if material is not None:
        members = await session.scalar(select(func.count()).where(RoomMember.room_id == material)) or 0
        direct = members <= ctx.settings.raw.brand_groups.direct_add_max
        kind = "room_add" if direct else "room_invite"
        queue_row(ctx, account=account, kind=kind, target=contact, payload={"room": material})
    if recruiter is not None and recruiter.contact_id:
        queue_text(
            ctx,
            target=recruiter.contact_id,
            account=recruiter.helper_account,
            template="new_recruit_dm",
            data={"recruit": person.name, "platform": ctx.settings.raw.platform.name},
        )
    return True


async def _recruiter_chain(ctx: Context, recruiter: Distributor) -> dict[str, str | None]:
    """Who recruited whom, upwards from ``recruiter`` (for core.entry.check_recruiter)."""
    chain: dict[str, str | None] = {}
    current: int | None = recruiter.id
    while current is not None and str(current) not in chain:
        above = await ctx.session.scalar(select(Distributor.recruiter_id).where(Distributor.id == current))
        chain[str(current)] = str(above) if above is not None else None
        current = above
    return chain


async def _fresh_personal_code(ctx: Context) -> str:
    while True:
        code = new_code()
        taken = await ctx.session.scalar(select(Distributor.id).where(Distributor.code == code))
        if taken is None and await ctx.session.get(PlatformCode, code) is None:
            return code


async def _distributor_of(ctx: Context, contact: str, known: Distributor | None = None) -> Distributor | None:
    if known is not None and known.contact_id == contact:
        return known
    return await ctx.session.scalar(select(Distributor).where(Distributor.contact_id == contact))


async def decide_application(
    ctx: Context, application_id: int, *, approve: bool, by: str, reason: str = ""
) -> EntryApplication:
    """Ops approve or reject an entry application (declared reach). Approval admits the person
    at the lowest level through the reach path and welcomes them; rejection tells them why.
    Raises NotFound for an unknown application, Conflict for one decided already."""
    application = await ctx.session.get(EntryApplication, application_id, with_for_update=True)
    if application is None:
        raise NotFound(f"no entry application {application_id}")
    if application.status != EntryApplicationStatus.PENDING:
        raise Conflict(f"the application is already {application.status}")
    contact = application.contact_id

    def tell(template: str, data: dict[str, Any]) -> None:
        queue_text(ctx, target=contact, template=template, data=data)

    if approve:
        person = await _distributor_of(ctx, contact)
        if person is None:
            await admit(
                ctx, contact, application.name, EntryDecision(Outcome.ADMITTED, Path.REACH), None, tell, account=None
            )
            person = await _distributor_of(ctx, contact)
        application.status, application.distributor_id = EntryApplicationStatus.APPROVED, person.id if person else None
    else:
        application.status, application.note = EntryApplicationStatus.REJECTED, reason.strip()[:500]
        tell(
            "entry_application_rejected",
            {"name": application.name, "platform": ctx.settings.raw.platform.name, "reason": application.note},
        )
    application.decided_at, application.decided_by = ctx.now, by[:64]
    audit.record(
        ctx,
        "membership",
        "entry_application.approve" if approve else "entry_application.reject",
        subject=f"application {application.id}",
        before={"status": EntryApplicationStatus.PENDING},
        after={"status": application.status},
        note=application.note,
    )
    return application


async def apply_by_reach(
    ctx: Context, contact: str, name: str, friends: int, groups: int, say: Say, *, account: str | None
) -> None:
    """An application by declared reach ("申请 500 3"): admitted at once where the rules say so,
    recorded for ops to decide (ops hear of it), or refused; one pending application per
    person. The caller made sure the reach path is configured."""
    rules = ctx.settings.entry
    answer = reach_answer(ctx.settings, friends, groups)
    pending = await ctx.session.scalar(
        select(EntryApplication.id).where(
            EntryApplication.contact_id == contact, EntryApplication.status == EntryApplicationStatus.PENDING
        )
    )
    if pending is not None:
        say("reach_application", {**answer, "outcome": "pending"})
        return
    decision = decide_entry(
        Applicant(person=f"contact:{contact}", declared_friends=friends, declared_groups=groups), rules
    )
    if decision.outcome is Outcome.ADMITTED:
        await admit(ctx, contact, name, decision, None, say, account=account)
    elif decision.outcome is Outcome.REVIEW:
        ctx.session.add(
            EntryApplication(
                contact_id=contact,
                name=name,
                path=Path.REACH.value,
                declared_friends=friends,
                declared_groups=groups,
                created_at=ctx.now,
            )
        )
        data = {"name": name, "contact": contact, "friends": friends, "groups": groups}
        for ops in ctx.settings.raw.ops:
            queue_text(ctx, target=ops, template="entry_application_ops", data=data)
        say("reach_application", {**answer, "outcome": "review"})
    else:
        say("reach_application", {**answer, "outcome": "refused"})


def reach_answer(settings: Settings, friends: int = 0, groups: int = 0) -> dict[str, Any]:
    """The data of ``reach_application`` before its outcome: what was declared, what is asked."""
    reach = settings.entry.reach
    assert reach is not None  # the reach path is configured wherever this is asked
    return {"friends": friends, "groups": groups, "min_friends": reach.min_friends, "min_groups": reach.min_groups}


async def list_entry_applications(session: AsyncSession, status: EntryApplicationStatus) -> list[dict[str, Any]]:
    """Entry applications in ``status`` (pending, approved, rejected), oldest first, at most 200."""
    rows = await session.scalars(
        select(EntryApplication).where(EntryApplication.status == status).order_by(EntryApplication.id).limit(200)
    )
    return [
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

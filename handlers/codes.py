"""Codes and joining: "邀请码" → the distributor's personal code; "注册 <code>" (or a friend
request carrying a code, through :func:`register_from_friend_request`) → a new distributor;
"申请 <friends> <groups>" → an application by declared reach.

Who may join, and with which recruiter, is :func:`core.entry.decide_entry`'s decision: a
personal code makes its owner the recruiter (if their level may recruit), a platform code is
single-use and consumed. The link is checked by :func:`core.entry.check_recruiter`. The new
distributor is welcomed and invited into the material group (素材群); the recruiter hears of
it. Wrong codes get a clear answer each; after ``dm.code_failures`` of them within
``dm.code_failure_window_minutes`` the person is asked to wait.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from bot.base.config import BrandSettings
from bot.base.outbox import queue_row, queue_text
from bot.base.transport import FriendRequest
from bot.runtime.router import MessageContext, Role, Router, exactly, keyword, private, role, text_message
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
from models.people import Distributor, EntryApplication, PlatformCode
from models.rooms import RoomMember
from services.codes import new_code, normalise_code

router = Router("codes")
Say = Callable[[str, dict[str, Any]], None]

_REGISTER = re.compile(r"^注册[\s:：]*(.*)$", re.S)
_CODE_AFTER_LABEL = re.compile(r"^(?:我的)?邀请码(?:是)?[\s:：]*([0-9A-Za-z][0-9A-Za-z\s-]*)$")
_BARE_CODE = re.compile(r"[0-9A-Z]{6,16}")
_ASKS_TO_APPLY = re.compile(r"^申请\s*[:：]?\s*(?:\d|$)")  # not "申请共学营"
_APPLY = re.compile(r"^申请[\s:：]*(\d{1,7})\D+(\d{1,7})\s*$")
_CODE_IN_GREETING = re.compile(r"[0-9A-Za-z]{6,16}")


def registration_code(text: str, guest: bool) -> str | None:
    """What a message offers as a code: the text after "注册" ('' when it has no letter or digit:
    "注册一下"); letters and digits after "邀请码"; a guest's message that is nothing but a code
    in capitals ("DEMOC001"); else None (not a registration).

    Example: "注册：democ001" → "democ001"; "邀请码是 ABCD2345" → "ABCD2345"; "邀请码是什么" → None."""
    typed = unicodedata.normalize("NFKC", text or "").strip()
    if found := _REGISTER.match(typed):
        rest = found.group(1).strip()
        return rest if any(ch.isascii() and ch.isalnum() for ch in rest) else ""
    if found := _CODE_AFTER_LABEL.match(typed):
        return found.group(1).strip()
    return typed if guest and _BARE_CODE.fullmatch(typed) else None


def wants_to_register(ctx: MessageContext) -> bool:
    return registration_code(ctx.message.text, ctx.distributor is None) is not None


def join_answer(ctx: MessageContext | Any, *asked: BrandSettings) -> dict[str, Any]:
    """The data of ``how_to_join``: the configured ways in, naming the brands the person asked
    for (one answer for "数学 阅读", not one per brand)."""
    entry = ctx.settings.raw.entry
    reach = entry.reach if Path.REACH in entry.paths else None
    return {
        "platform": ctx.settings.raw.platform.name,
        "asked": "、".join(b.name for b in asked),
        "keyword": asked[0].keywords[0] if asked else "",
        "code": Path.CODE in entry.paths,
        "open": Path.OPEN in entry.paths,
        "reach": reach.model_dump() if reach else None,
        "purchase": entry.purchase_threshold if Path.PURCHASE in entry.paths else None,
    }


@router.message(private, text_message, wants_to_register)
async def register_command(ctx: MessageContext) -> None:
    typed = registration_code(ctx.message.text, ctx.distributor is None) or ""
    await register(ctx, ctx.message.sender, ctx.message.sender_name, typed, ctx.reply, throttled=True)


_ASKS_FOR_CODE = keyword("邀请码", "推广码")
_INVITE = exactly("邀请")
_ASKS_HOW_TO_JOIN = keyword("注册", "怎么加入", "如何加入", "成为分销员", "做分销")


@router.message(private, text_message, lambda ctx: _ASKS_FOR_CODE(ctx) or _INVITE(ctx))
async def my_code(ctx: MessageContext) -> None:
    person = ctx.distributor
    if person is None or person.status != "active":
        ctx.reply("how_to_join", join_answer(ctx))
        return
    level = ctx.settings.levels.get(person.level)
    if level is None or level.can_recruit:
        ctx.reply("my_code", {"code": person.code})
        return
    recruiting = [lv.name for lv in ctx.settings.raw.levels if lv.can_recruit]
    ctx.reply("my_code_cannot_recruit", {"level_name": level.name, "recruit_levels": recruiting})


@router.message(private, text_message, role(Role.GUEST), _ASKS_HOW_TO_JOIN)
async def how_to_join(ctx: MessageContext) -> None:
    ctx.reply("how_to_join", join_answer(ctx))


@router.message(private, text_message, lambda ctx: _ASKS_TO_APPLY.match(ctx.text) is not None)
async def apply_by_reach(ctx: MessageContext) -> None:
    contact = ctx.message.sender
    if ctx.distributor is not None:
        ctx.reply("register_refused", {"reason": "already_distributor", "code": "", "mine": ctx.distributor.code})
        return
    rules = ctx.settings.entry
    if Path.REACH not in rules.paths or rules.reach is None:
        ctx.reply("how_to_join", join_answer(ctx))
        return
    found = _APPLY.match(unicodedata.normalize("NFKC", ctx.message.text).strip())
    answer = {"friends": 0, "groups": 0, "min_friends": rules.reach.min_friends, "min_groups": rules.reach.min_groups}
    if found is None:
        ctx.reply("reach_application", {**answer, "outcome": "usage"})
        return
    friends, groups = int(found.group(1)), int(found.group(2))
    answer.update(friends=friends, groups=groups)
    pending = await ctx.session.scalar(
        select(EntryApplication.id).where(EntryApplication.contact_id == contact, EntryApplication.status == "pending")
    )
    if pending is not None:
        ctx.reply("reach_application", {**answer, "outcome": "pending"})
        return
    decision = decide_entry(
        Applicant(person=f"contact:{contact}", declared_friends=friends, declared_groups=groups), rules
    )
    if decision.outcome is Outcome.ADMITTED:
        await _admit(ctx, contact, ctx.message.sender_name, decision, None, ctx.reply)
    elif decision.outcome is Outcome.REVIEW:
        ctx.session.add(
            EntryApplication(
                contact_id=contact,
                name=ctx.message.sender_name,
                path=Path.REACH.value,
                declared_friends=friends,
                declared_groups=groups,
                created_at=ctx.now,
            )
        )
        data = {"name": ctx.message.sender_name, "contact": contact, "friends": friends, "groups": groups}
        for ops in ctx.settings.raw.ops:
            queue_text(ctx, target=ops, template="entry_application_ops", data=data)
        ctx.reply("reach_application", {**answer, "outcome": "review"})
    else:
        ctx.reply("reach_application", {**answer, "outcome": "refused"})


async def register_from_friend_request(ctx: MessageContext, request: FriendRequest) -> None:
    """The hook for handlers/friends.py, called right after a request was accepted (its
    ``friend_accept`` queued): a code in the greeting registers the person; a greeting that was
    accepted for a keyword gets the how-to-join answer. Someone already a distributor gets
    nothing more."""
    if await _distributor_of(ctx, request.contact) is not None:
        return
    account = ctx.transport.account if ctx.transport else None

    def say(template: str, data: dict[str, Any]) -> None:
        queue_text(ctx, target=request.contact, template=template, data=data, account=account)

    for candidate in dict.fromkeys(c.upper() for c in _CODE_IN_GREETING.findall(request.hello or "")):
        facts = await code_facts(ctx, candidate)
        if facts.kind is not None:
            await register(ctx, request.contact, request.name, candidate, say, throttled=False)
            return
    say("how_to_join", join_answer(ctx))


async def register(ctx: MessageContext, contact: str, name: str, typed: str, say: Say, *, throttled: bool) -> None:
    """Register ``contact`` with the code they typed ('' for none), answering through ``say``."""
    existing = await _distributor_of(ctx, contact)
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
            admitted = await _admit(ctx, contact, name, decision, code, say)
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


async def code_facts(ctx: MessageContext, code: str) -> CodeFacts:
    """What the database knows of ``code`` (canonical form), as core.entry wants it."""
    owner = await ctx.session.scalar(select(Distributor).where(Distributor.code == code))
    if owner is not None:
        level = ctx.settings.levels.get(owner.level)
        return CodeFacts(
            CodeKind.PERSONAL,
            owner=str(owner.id),
            owner_may_recruit=level.can_recruit if level else False,
            owner_active=owner.status == "active",
        )
    platform = await ctx.session.get(PlatformCode, code)
    if platform is not None:
        return CodeFacts(CodeKind.PLATFORM, used=platform.used_by is not None)
    return CodeFacts(None)


async def _admit(
    ctx: MessageContext, contact: str, name: str, decision: EntryDecision, code: str | None, say: Say
) -> bool:
    """Write the new distributor, consume the platform code, welcome them. False when the
    platform code was taken by someone else a moment ago (nothing is written then)."""
    session = ctx.session
    recruiter = await session.get(Distributor, int(decision.recruiter)) if decision.recruiter else None
    if recruiter is not None:
        check_recruiter(f"contact:{contact}", str(recruiter.id), await _recruiter_chain(ctx, recruiter))
    account = ctx.transport.account if ctx.transport else ctx.settings.helper_account
    level = ctx.settings.raw.levels[0]
    person = Distributor(
        code=await _fresh_personal_code(ctx),
        name=(name or contact)[:64],
        contact_id=contact,
        helper_account=account,
        level=level.code,
        recruiter_id=recruiter.id if recruiter else None,
        status="active",
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
        if taken.rowcount != 1:
            await session.delete(person)
            await session.flush()
            return False
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


async def _recruiter_chain(ctx: MessageContext, recruiter: Distributor) -> dict[str, str | None]:
    """Who recruited whom, upwards from ``recruiter`` (for core.entry.check_recruiter)."""
    chain: dict[str, str | None] = {}
    current: int | None = recruiter.id
    while current is not None and str(current) not in chain:
        above = await ctx.session.scalar(select(Distributor.recruiter_id).where(Distributor.id == current))
        chain[str(current)] = str(above) if above is not None else None
        current = above
    return chain


async def _fresh_personal_code(ctx: MessageContext) -> str:
    while True:
        code = new_code()
        taken = await ctx.session.scalar(select(Distributor.id).where(Distributor.code == code))
        if taken is None and await ctx.session.get(PlatformCode, code) is None:
            return code


async def _distributor_of(ctx: MessageContext, contact: str) -> Distributor | None:
    if ctx.distributor is not None and ctx.distributor.contact_id == contact:
        return ctx.distributor
    return await ctx.session.scalar(select(Distributor).where(Distributor.contact_id == contact))


class ApplicationRefused(Exception):
    """An entry application cannot be decided: unknown (``status`` 404) or decided already (409)."""

    def __init__(self, reason: str, status: int):
        super().__init__(reason)
        self.status = status


async def decide_application(
    ctx: MessageContext, application_id: int, *, approve: bool, by: str, reason: str = ""
) -> EntryApplication:
    """Ops approve or reject an entry application (declared reach). Approval admits the person
    at the lowest level through the reach path and welcomes them; rejection tells them why."""
    application = await ctx.session.get(EntryApplication, application_id, with_for_update=True)
    if application is None:
        raise ApplicationRefused(f"no entry application {application_id}", 404)
    if application.status != "pending":
        raise ApplicationRefused(f"the application is already {application.status}", 409)
    contact = application.contact_id

    def tell(template: str, data: dict[str, Any]) -> None:
        queue_text(ctx, target=contact, template=template, data=data)

    if approve:
        person = await _distributor_of(ctx, contact)
        if person is None:
            await _admit(ctx, contact, application.name, EntryDecision(Outcome.ADMITTED, Path.REACH), None, tell)
            person = await _distributor_of(ctx, contact)
        application.status, application.distributor_id = "approved", person.id if person else None
    else:
        application.status, application.note = "rejected", reason.strip()[:500]
        tell(
            "entry_application_rejected",
            {"name": application.name, "platform": ctx.settings.raw.platform.name, "reason": application.note},
        )
    application.decided_at, application.decided_by = ctx.now, by[:64]
    return application

"""Group moderation's use cases: an offence recorded and escalated, an appeal, and ops'
decisions (undo: strikes cleared, the person invited back; uphold), each in the audit log.

The rules are :mod:`core.moderation`'s (what is an offence, when a strike removes) and
:mod:`core.qr`'s (a QR code in a picture); the pre-routing stage
(``bot.runtime.moderation``) judges each brand-group message and calls
:func:`record_offence`. Removal goes through the outbox (a ``room_remove`` row) where the
transport can remove members; otherwise ops are told whom to remove and the case waits as
``ops_told``. Nothing is deleted: strikes are cleared, cases decided."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.config import Settings
from bot.base.context import Actor, Context
from bot.base.outbox import queue_row, queue_text
from core.moderation import Offence, Policy, Step, next_step
from core.qr import has_qr_code
from models.moderation import ModerationCase, ModerationStrike
from models.orders import Order
from models.rooms import RoomMember
from models.statuses import ModerationStatus
from services import audit
from services.errors import Conflict, Invalid, NotFound
from services.reports import local_zone

PICTURE_SIDE = 400  # pixels: pictures are scaled to at most this before looking for a QR code
RULE_NAMES = {
    "word": "发布违规词",
    "link": "发布链接",
    "qr_code": "发布二维码",
    "card": "推送名片",
    "mentions": "一次@太多人",
    "flood": "刷屏",
}
# Warnings and removals are the platform's doing, triggered by a message in a group chat (the
# person who sent it is the entry's subject, not its actor).
MODERATION = Actor("moderation", "system", "chat")
OPEN = (ModerationStatus.REMOVED, ModerationStatus.OPS_TOLD, ModerationStatus.APPEALED)


def picture_has_qr(data: bytes) -> bool:
    """Whether the picture's bytes hold a QR code (scaled down first; unreadable → False)."""
    try:
        with Image.open(io.BytesIO(data)) as picture:
            gray = picture.convert("L")
    except (UnidentifiedImageError, OSError, ValueError):
        return False
    gray.thumbnail((PICTURE_SIDE, PICTURE_SIDE))
    return has_qr_code(gray.tobytes(), gray.width, gray.height)


async def has_sales(session: AsyncSession, distributor_id: int) -> bool:
    """A distributor with at least one order attributed to them gets the sellers' room."""
    return await session.scalar(select(Order.id).where(Order.seller_id == distributor_id).limit(1)) is not None


@dataclass(frozen=True)
class Outcome:
    step: Step
    strikes: int
    allowed: int
    removed: bool  # the helper removes them (else ops were told, for a removal)
    case_id: int | None


def group_name(settings: Settings, room: str) -> str:
    return next((g.name for b in settings.raw.brands for g in b.groups if g.room_id == room), room)


async def record_offence(
    ctx: Context,
    *,
    brand_id: str,
    room: str,
    contact: str,
    name: str,
    offence: Offence,
    policy: Policy,
    message_id: str,
    seller: bool,
    can_remove: bool,
    account: str,
) -> Outcome:
    """A strike for ``offence``, then a warning in the group mentioning the person, or — at the
    configured number of strikes in the window — their removal (or ops told to remove them).
    ``policy`` is the brand's, as the message was judged by."""
    ctx.session.add(
        ModerationStrike(
            brand_id=brand_id,
            room_id=room,
            contact_id=contact,
            name=name[:64],
            rule=offence.rule.value,
            excerpt=offence.evidence[:500],
            message_id=message_id[:128],
            at=ctx.now,
        )
    )
    await ctx.session.flush()
    strikes = int(
        await ctx.session.scalar(
            select(func.count(ModerationStrike.id)).where(
                ModerationStrike.brand_id == brand_id,
                ModerationStrike.contact_id == contact,
                ModerationStrike.cleared_at.is_(None),
                ModerationStrike.at > ctx.now - policy.window,
            )
        )
        or 0
    )
    allowed = policy.strikes_allowed(seller)
    step = next_step(policy, strikes, seller)
    group = group_name(ctx.settings, room)
    data: dict[str, Any] = {
        "name": name,
        "rule": RULE_NAMES[offence.rule.value],
        "strikes": strikes,
        "allowed": allowed,
        "group": group,
    }
    if step is Step.WARN:
        queue_text(ctx, target=room, room=True, template="moderation_warning", data=data, account=account,
                   payload={"mentions": [contact]})  # fmt: skip
        audit.record(
            ctx,
            "moderation",
            "moderation.warn",
            subject=contact,
            brand_id=brand_id,
            before={"strikes": strikes - 1},
            after={"strikes": strikes, "rule": offence.rule.value, "evidence": offence.evidence, "room": room},
            actor=MODERATION,
        )
        return Outcome(step, strikes, allowed, False, None)
    rules = await ctx.session.scalars(
        select(ModerationStrike.rule).where(
            ModerationStrike.brand_id == brand_id,
            ModerationStrike.contact_id == contact,
            ModerationStrike.cleared_at.is_(None),
            ModerationStrike.at > ctx.now - policy.window,
        )
    )
    case = ModerationCase(
        brand_id=brand_id,
        room_id=room,
        contact_id=contact,
        name=name[:64],
        strikes=strikes,
        rules=",".join(dict.fromkeys(rules))[:200],
        status=ModerationStatus.REMOVED if can_remove else ModerationStatus.OPS_TOLD,
        at=ctx.now,
    )
    ctx.session.add(case)
    await ctx.session.flush()
    data["case"] = case.id
    if can_remove:
        queue_row(ctx, account=account, kind="room_remove", target=contact, payload={"room": room, "case": case.id})
        queue_text(ctx, target=room, room=True, template="moderation_removed", data=data, account=account)
        queue_text(ctx, target=contact, template="moderation_removed_dm", data=data, account=account)
    else:
        for ops in ctx.settings.raw.ops:
            queue_text(
                ctx, target=ops, template="moderation_remove_ops", data=data | {"contact": contact}, account=account
            )
    audit.record(
        ctx,
        "moderation",
        "moderation.remove" if can_remove else "moderation.ops_told",
        subject=contact,
        brand_id=brand_id,
        before={"in_group": True, "strikes": strikes - 1},
        after={
            "in_group": False if can_remove else "ops asked to remove",
            "strikes": strikes,
            "rule": offence.rule.value,
            "evidence": offence.evidence,
            "room": room,
            "case": case.id,
        },
        actor=MODERATION,
    )
    return Outcome(step, strikes, allowed, can_remove, case.id)


async def appeal(ctx: Context, contact: str, text: str) -> ModerationCase | None:
    """The person's appeal against their latest open removal (None: they have none). Ops are told."""
    case = await ctx.session.scalar(
        select(ModerationCase)
        .where(ModerationCase.contact_id == contact, ModerationCase.status.in_(OPEN))
        .order_by(ModerationCase.at.desc())
        .limit(1)
        .with_for_update()
    )
    if case is None:
        return None
    before = case.status
    case.status, case.appeal, case.appealed_at = ModerationStatus.APPEALED, text.strip()[:1000], ctx.now
    audit.record(
        ctx,
        "moderation",
        "moderation.appeal",
        subject=contact,
        brand_id=case.brand_id,
        before={"status": before},
        after={"status": case.status, "case": case.id},
        note=case.appeal,
    )
    for ops in ctx.settings.raw.ops:
        queue_text(
            ctx,
            target=ops,
            template="moderation_appeal_ops",
            data={
                "name": case.name,
                "group": group_name(ctx.settings, case.room_id),
                "appeal": case.appeal,
                "case": case.id,
            },
        )
    return case


async def _case(ctx: Context, case_id: int) -> ModerationCase:
    case = await ctx.session.get(ModerationCase, case_id, with_for_update=True)
    if case is None:
        raise NotFound(f"no moderation case has the id {case_id}")
    if case.status not in OPEN:
        raise Conflict(f"the case is already {case.status}", details={"status": case.status})
    return case


async def undo(ctx: Context, case_id: int, note: str = "") -> ModerationCase:
    """A false positive: the person's strikes in the brand cleared, the case undone, the person
    invited back into the group (added directly while it is small, an invitation above) and told."""
    case = await _case(ctx, case_id)
    before = case.status
    cleared = await ctx.session.execute(
        update(ModerationStrike)
        .where(
            ModerationStrike.brand_id == case.brand_id,
            ModerationStrike.contact_id == case.contact_id,
            ModerationStrike.cleared_at.is_(None),
        )
        .values(cleared_at=ctx.now, cleared_by=ctx.actor.name[:64])
    )
    case.status, case.decided_at, case.decided_by, case.decision_note = (
        ModerationStatus.UNDONE,
        ctx.now,
        ctx.actor.name[:64],
        note.strip()[:1000],
    )
    members = await ctx.session.scalar(select(func.count()).where(RoomMember.room_id == case.room_id)) or 0
    direct = members <= ctx.settings.raw.brand_groups.direct_add_max
    group = group_name(ctx.settings, case.room_id)
    queue_row(ctx, kind="room_add" if direct else "room_invite", target=case.contact_id, payload={"room": case.room_id})
    queue_text(ctx, target=case.contact_id, template="moderation_undone", data={"name": case.name, "group": group})
    audit.record(
        ctx,
        "moderation",
        "moderation.undo",
        subject=case.contact_id,
        brand_id=case.brand_id,
        before={"status": before, "in_group": False},
        after={
            "status": case.status,
            "strikes_cleared": getattr(cleared, "rowcount", 0),
            "reinvited": "room_add" if direct else "room_invite",
            "case": case.id,
        },
        note=case.decision_note,
    )
    return case


async def uphold(ctx: Context, case_id: int, note: str) -> ModerationCase:
    """The removal stands; the person hears why (a note is required when they appealed)."""
    case = await _case(ctx, case_id)
    note = note.strip()
    if case.status == ModerationStatus.APPEALED and not note:
        raise Invalid(["note: say why the removal stands; the person is told"])
    before = case.status
    case.status, case.decided_at, case.decided_by, case.decision_note = (
        ModerationStatus.UPHELD,
        ctx.now,
        ctx.actor.name[:64],
        note[:1000],
    )
    if before == ModerationStatus.APPEALED:
        queue_text(
            ctx,
            target=case.contact_id,
            template="moderation_upheld",
            data={"name": case.name, "group": group_name(ctx.settings, case.room_id), "note": note},
        )
    audit.record(
        ctx,
        "moderation",
        "moderation.uphold",
        subject=case.contact_id,
        brand_id=case.brand_id,
        before={"status": before},
        after={"status": case.status, "case": case.id},
        note=note,
    )
    return case


async def clear_strike(ctx: Context, strike_id: int) -> ModerationStrike:
    """One strike taken back (a warning given by mistake)."""
    strike = await ctx.session.get(ModerationStrike, strike_id, with_for_update=True)
    if strike is None:
        raise NotFound(f"no strike has the id {strike_id}")
    if strike.cleared_at is not None:
        raise Conflict("the strike is cleared already")
    strike.cleared_at, strike.cleared_by = ctx.now, ctx.actor.name[:64]
    audit.record(
        ctx,
        "moderation",
        "moderation.clear_strike",
        subject=strike.contact_id,
        brand_id=strike.brand_id,
        before={"cleared": False, "rule": strike.rule},
        after={"cleared": True, "strike": strike.id},
    )
    return strike


def _at(settings: Settings, value: Any) -> Any:
    return value.astimezone(local_zone(settings)) if value is not None else None


async def cases(
    session: AsyncSession, settings: Settings, *, brands: list[str] | None = None, open_only: bool = False
) -> list[dict[str, Any]]:
    """Removal cases, newest first (at most 200), of ``brands`` (None: all)."""
    query = select(ModerationCase).order_by(ModerationCase.at.desc(), ModerationCase.id.desc()).limit(200)
    if brands is not None:
        query = query.where(ModerationCase.brand_id.in_(brands or [""]))
    if open_only:
        query = query.where(ModerationCase.status.in_(OPEN))
    return [
        {
            "id": c.id,
            "brand_id": c.brand_id,
            "room": c.room_id,
            "group": group_name(settings, c.room_id),
            "contact": c.contact_id,
            "name": c.name,
            "strikes": c.strikes,
            "rules": [RULE_NAMES.get(r, r) for r in c.rules.split(",") if r],
            "status": c.status,
            "at": _at(settings, c.at),
            "appeal": c.appeal,
            "appealed_at": _at(settings, c.appealed_at),
            "decided_at": _at(settings, c.decided_at),
            "decided_by": c.decided_by,
            "decision_note": c.decision_note,
        }
        for c in await session.scalars(query)
    ]


async def strikes(
    session: AsyncSession, settings: Settings, *, brands: list[str] | None = None
) -> list[dict[str, Any]]:
    """Strikes, newest first (at most 200), of ``brands`` (None: all)."""
    query = select(ModerationStrike).order_by(ModerationStrike.at.desc(), ModerationStrike.id.desc()).limit(200)
    if brands is not None:
        query = query.where(ModerationStrike.brand_id.in_(brands or [""]))
    return [
        {
            "id": s.id,
            "brand_id": s.brand_id,
            "group": group_name(settings, s.room_id),
            "contact": s.contact_id,
            "name": s.name,
            "rule": RULE_NAMES.get(s.rule, s.rule),
            "evidence": s.excerpt,
            "at": _at(settings, s.at),
            "cleared_at": _at(settings, s.cleared_at),
            "cleared_by": s.cleared_by,
        }
        for s in await session.scalars(query)
    ]

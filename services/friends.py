"""Friend requests to the helper, and invitations into other people's rooms: recorded, and
decided by the rules or by ops.

A request whose greeting carries a valid code (a distributor's personal code or an unused
platform code) or one of the configured keywords is accepted; the others wait for ops, who
hear of each by DM (once per person a day, so a stranger asking again and again is no storm)
and decide in the console or the API (:func:`decide_friend_request`). Invitations into rooms
always wait for ops (a co-learning application decides them)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.context import Context
from bot.base.outbox import queue_row, queue_text
from bot.base.transport import FriendRequest, RoomInvitation
from core.keywords import normalise_keyword
from models import marks
from models.people import Distributor, PlatformCode
from models.rooms import FriendRequestRecord, RoomInvitationRecord
from models.statuses import DistributorStatus, FriendRequestStatus
from services import audit
from services.entry import join_answer, register_from_greeting
from services.errors import Conflict, NotFound

_CODE_LIKE = re.compile(r"[0-9A-Za-z]{6,16}")
OPS_TOLD_EVERY = timedelta(days=1)  # per person: asking again within a day tells ops nothing new


async def greeting_reason(ctx: Context, hello: str) -> str | None:
    """Why a greeting earns acceptance ("code" or "keyword"), or None."""
    candidates = {c.upper() for c in _CODE_LIKE.findall(hello or "")}
    if candidates:
        personal = await ctx.session.scalar(
            select(Distributor.id)
            .where(Distributor.code.in_(candidates), Distributor.status == DistributorStatus.ACTIVE)
            .limit(1)
        )
        platform = await ctx.session.scalar(
            select(PlatformCode.code).where(PlatformCode.code.in_(candidates), PlatformCode.used_by.is_(None)).limit(1)
        )
        if personal is not None or platform is not None:
            return "code"
    text = normalise_keyword(hello)
    if any(normalise_keyword(k) in text for k in ctx.settings.raw.transport.friend_keywords):
        return "keyword"
    return None


async def receive_friend_request(
    ctx: Context, request: FriendRequest, *, account: str, known: Distributor | None = None, added: bool = False
) -> None:
    """A friend request to the helper account ``account``, recorded once (a delivery twice is
    ignored): accepted for a code or a keyword in its greeting (a code registers the person),
    else left for ops, who hear of it. ``known``: the sender's distributor row, if loaded.
    ``added``: the transport has no requests to accept (WeCom: the person added the helper by a
    联系我 code, whose state is the greeting) — recorded as accepted, nothing queued to accept."""
    if await ctx.session.get(FriendRequestRecord, request.id) is not None:
        return  # delivered twice
    reason = await greeting_reason(ctx, request.hello)
    if added:
        reason = reason or "added"
    ctx.session.add(
        FriendRequestRecord(
            id=request.id,
            account=account,
            contact_id=request.contact,
            name=request.name,
            hello=request.hello,
            status=FriendRequestStatus.ACCEPTED if reason else FriendRequestStatus.PENDING,
            reason=reason or "",
            received_at=ctx.now,
            decided_at=ctx.now if reason else None,
        )
    )
    if reason:
        if not added:
            queue_row(ctx, account=account, kind="friend_accept", target=request.id)
        await register_from_greeting(ctx, request, account=account, known=known)  # a code registers them
        return
    # WeChat keeps only a person's latest request: an older one still waiting is replaced.
    await ctx.session.execute(
        update(FriendRequestRecord)
        .where(
            FriendRequestRecord.account == account,
            FriendRequestRecord.contact_id == request.contact,
            FriendRequestRecord.status == FriendRequestStatus.PENDING,
            FriendRequestRecord.id != request.id,
        )
        .values(status=FriendRequestStatus.IGNORED, reason="replaced", decided_at=ctx.now)
    )
    if await marks.claim(ctx.session, f"friend-request-ops:{account}:{request.contact}", ctx.now, OPS_TOLD_EVERY):
        data = {"name": request.name, "contact": request.contact, "hello": request.hello}
        for ops in ctx.settings.raw.ops:
            # Requests arriving together reach each ops contact as one message.
            queue_text(ctx, target=ops, template="friend_request_ops", data=data, coalesce_key="friend-requests")


async def decide_friend_request(ctx: Context, request_id: str, *, accept: bool, by: str) -> FriendRequestRecord:
    """Ops accept (the helper accepts it in WeChat, and the person, not yet a distributor,
    hears how to join) or reject (nothing is sent: WeChat tells nobody of an ignored request)
    a waiting friend request."""
    record = await ctx.session.get(FriendRequestRecord, request_id, with_for_update=True)
    if record is None:
        raise NotFound("no such friend request")
    if record.status != FriendRequestStatus.PENDING:
        raise Conflict(f"the request is already {record.status}")
    record.status = FriendRequestStatus.ACCEPTED if accept else FriendRequestStatus.IGNORED
    record.reason, record.decided_at, record.decided_by = "ops", ctx.now, by[:64]
    audit.record(
        ctx,
        "membership",
        "friend_request.accept" if accept else "friend_request.reject",
        subject=record.contact_id,
        before={"status": FriendRequestStatus.PENDING},
        after={"status": record.status},
    )
    if accept:
        queue_row(ctx, account=record.account, kind="friend_accept", target=record.id)
        known = await ctx.session.scalar(select(Distributor.id).where(Distributor.contact_id == record.contact_id))
        if known is None:
            answer = join_answer(ctx.settings)
            queue_text(ctx, target=record.contact_id, template="how_to_join", data=answer, account=record.account)
    return record


async def record_room_invitation(ctx: Context, invitation: RoomInvitation, *, account: str) -> None:
    """An invitation of the helper into someone's room, kept for ops (once)."""
    if await ctx.session.get(RoomInvitationRecord, invitation.id) is None:
        ctx.session.add(
            RoomInvitationRecord(
                id=invitation.id,
                account=account,
                room_id=invitation.room,
                topic=invitation.topic,
                inviter=invitation.inviter,
                member_count=invitation.member_count,
                received_at=ctx.now,
            )
        )


async def list_friend_requests(session: AsyncSession, status: FriendRequestStatus) -> list[dict[str, Any]]:
    """The latest 200 friend requests in ``status`` (pending, accepted, ignored), newest first."""
    rows = await session.scalars(
        select(FriendRequestRecord)
        .where(FriendRequestRecord.status == status)
        .order_by(FriendRequestRecord.received_at.desc())
        .limit(200)
    )
    return [
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

"""Friend requests to the helper, and invitations into other people's rooms.

A request whose greeting carries a valid code (a distributor's personal code or an unused
platform code) or one of the configured keywords is accepted; the others wait for ops, who
hear of each by DM (once per person a day, so a stranger asking again and again is no storm)
and decide in the console or the API (:func:`decide_friend_request`). Invitations into rooms
always wait for ops (a co-learning application decides them)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from bot.base.context import Context
from bot.base.outbox import queue_row, queue_text
from bot.base.transport import FriendRequest, RoomInvitation
from bot.runtime.router import MessageContext, Router, event, normalise
from handlers import codes
from models import marks
from models.people import Distributor, PlatformCode
from models.rooms import FriendRequestRecord, RoomInvitationRecord

router = Router("friends")
_CODE_LIKE = re.compile(r"[0-9A-Za-z]{6,16}")
OPS_TOLD_EVERY = timedelta(days=1)  # per person: asking again within a day tells ops nothing new


class FriendRequestRefused(Exception):
    """A friend request cannot be decided: unknown (``status`` 404) or decided already (409)."""

    def __init__(self, reason: str, status: int):
        super().__init__(reason)
        self.status = status


async def greeting_reason(ctx: MessageContext, hello: str) -> str | None:
    """Why a greeting earns acceptance ("code" or "keyword"), or None."""
    candidates = {c.upper() for c in _CODE_LIKE.findall(hello or "")}
    if candidates:
        personal = await ctx.session.scalar(
            select(Distributor.id).where(Distributor.code.in_(candidates), Distributor.status == "active").limit(1)
        )
        platform = await ctx.session.scalar(
            select(PlatformCode.code).where(PlatformCode.code.in_(candidates), PlatformCode.used_by.is_(None)).limit(1)
        )
        if personal is not None or platform is not None:
            return "code"
    text = normalise(hello).replace(" ", "")
    if any(normalise(k).replace(" ", "") in text for k in ctx.settings.raw.transport.friend_keywords):
        return "keyword"
    return None


@router.on(event(FriendRequest))
async def friend_request(ctx: MessageContext) -> None:
    request = ctx.event
    assert isinstance(request, FriendRequest)
    account = ctx.transport.account if ctx.transport else ctx.settings.helper_account
    if await ctx.session.get(FriendRequestRecord, request.id) is not None:
        return  # delivered twice
    reason = await greeting_reason(ctx, request.hello)
    ctx.session.add(
        FriendRequestRecord(
            id=request.id,
            account=account,
            contact_id=request.contact,
            name=request.name,
            hello=request.hello,
            status="accepted" if reason else "pending",
            reason=reason or "",
            received_at=ctx.now,
            decided_at=ctx.now if reason else None,
        )
    )
    if reason:
        queue_row(ctx, account=account, kind="friend_accept", target=request.id)
        await codes.register_from_friend_request(ctx, request)  # a code in the greeting registers them
        return
    # WeChat keeps only a person's latest request: an older one still waiting is replaced.
    await ctx.session.execute(
        update(FriendRequestRecord)
        .where(
            FriendRequestRecord.account == account,
            FriendRequestRecord.contact_id == request.contact,
            FriendRequestRecord.status == "pending",
            FriendRequestRecord.id != request.id,
        )
        .values(status="ignored", reason="replaced", decided_at=ctx.now)
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
        raise FriendRequestRefused("no such friend request", 404)
    if record.status != "pending":
        raise FriendRequestRefused(f"the request is already {record.status}", 409)
    record.status = "accepted" if accept else "ignored"
    record.reason, record.decided_at, record.decided_by = "ops", ctx.now, by[:64]
    if accept:
        queue_row(ctx, account=record.account, kind="friend_accept", target=record.id)
        known = await ctx.session.scalar(select(Distributor.id).where(Distributor.contact_id == record.contact_id))
        if known is None:
            answer = codes.join_answer(ctx)
            queue_text(ctx, target=record.contact_id, template="how_to_join", data=answer, account=record.account)
    return record


@router.on(event(RoomInvitation))
async def room_invitation(ctx: MessageContext) -> None:
    invitation = ctx.event
    assert isinstance(invitation, RoomInvitation)
    if await ctx.session.get(RoomInvitationRecord, invitation.id) is None:
        ctx.session.add(
            RoomInvitationRecord(
                id=invitation.id,
                account=ctx.transport.account if ctx.transport else ctx.settings.helper_account,
                room_id=invitation.room,
                topic=invitation.topic,
                inviter=invitation.inviter,
                member_count=invitation.member_count,
                received_at=ctx.now,
            )
        )

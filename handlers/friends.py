"""Friend requests to the helper, and invitations into other people's rooms.

A request whose greeting carries a valid code (a distributor's personal code or an unused
platform code) or one of the configured keywords is accepted; the others are listed for ops.
Invitations into rooms always wait for ops (a co-learning application decides them)."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.outbox import queue_row
from bot.router import MessageContext, Router, event, normalise
from bot.transport import FriendRequest, RoomInvitation
from handlers import codes
from models.people import Distributor, PlatformCode
from models.rooms import FriendRequestRecord, RoomInvitationRecord

router = Router("friends")
_CODE_LIKE = re.compile(r"[0-9A-Za-z]{6,16}")


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

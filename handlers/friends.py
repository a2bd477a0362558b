"""Friend requests to the helper, and invitations into other people's rooms: each recorded and
decided by :mod:`services.friends` (a code or keyword in a greeting is accepted at once, the rest
wait for ops). Invitations into rooms always wait for ops (a co-learning application decides
them)."""

from __future__ import annotations

from bot.base.transport import FriendRequest, RoomInvitation
from bot.runtime.router import MessageContext, Router, event
from services import friends

router = Router("friends")


@router.on(event(FriendRequest))
async def friend_request(ctx: MessageContext, event: FriendRequest) -> None:
    # Where the transport has no requests to accept (WeCom's 联系我 codes), the person is in already.
    added = ctx.transport is not None and not ctx.transport.capabilities.friend_requests
    await friends.receive_friend_request(ctx, event, account=ctx.account, known=ctx.distributor, added=added)


@router.on(event(RoomInvitation))
async def room_invitation(ctx: MessageContext, event: RoomInvitation) -> None:
    await friends.record_room_invitation(ctx, event, account=ctx.account)

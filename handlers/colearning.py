"""Co-learning (共学营) in WeChat: distributors apply, the helper's invitation into their group
becomes an application for ops, and during a session what the lecturers say in the source
room is relayed to every enrolled group.

This router must come before the group handlers and the fallback: it takes a lecturer's
message in the source room during a session (the filter needs no query: ``SOURCES``), every
room invitation (recorded for ops as ``handlers.friends`` records them, then linked to an
application when the inviter is a distributor), and the helper's own joins and leaves outside
brand groups (members synced as ``handlers.membership`` syncs them).
"""

from __future__ import annotations

import base64
import logging

from sqlalchemy import select, update

from bot.base.outbox import queue_row, queue_text
from bot.base.priorities import Priority
from bot.base.transport import Message, RoomInvitation, RoomJoin, RoomLeave, Transport, TransportError
from bot.runtime.router import Found, MessageContext, Router, event, group, keyword, private
from bot.runtime.scheduler import SOURCES
from models.colearning import ColearningApplication, ColearningGroupRecord, ColearningSession
from models.colearning_queries import ensure_records
from models.people import Distributor
from models.statuses import ApplicationStatus, DistributorStatus, SessionStatus
from services.colearning import apply_from_invitation, groups_of
from services.friends import record_room_invitation
from services.membership import sync_members

log = logging.getLogger(__name__)
router = Router("colearning")


def lecturer_in_session(ctx: MessageContext) -> bool:
    message = ctx.event
    return (
        isinstance(message, Message)
        and message.kind in ("text", "image")
        and SOURCES.match(message.room, message.sender, message.at)
    )


def helper_joined_or_left(ctx: MessageContext) -> Found | None:
    """The helper itself joined or left a room that is not a brand group; hands on the
    ``transport`` to read the room's members through."""
    changed, transport = ctx.event, ctx.transport
    if (
        isinstance(changed, (RoomJoin, RoomLeave))
        and transport is not None
        and ctx.helper_id in changed.named
        and ctx.brand_of_room() is None
    ):
        return {"transport": transport}
    return None


@router.message(group, lecturer_in_session)
async def relay(ctx: MessageContext, message: Message) -> None:
    """One lecturer message to every enrolled group, prefixed with the session's name. Text
    lines queued for one group may go out together (a coalesce key per run of text); an image
    starts a new run, so each group sees everything in the order it was said. An image whose
    bytes the transport cannot fetch becomes a line saying so."""
    sessions = await ctx.session.scalars(
        select(ColearningSession).where(
            ColearningSession.source_room == message.room,
            ColearningSession.status == SessionStatus.SCHEDULED,
            ColearningSession.starts_at <= message.at,
            ColearningSession.ends_at > message.at,
        )
    )
    image: str | None = None
    for row in sessions:
        groups = await groups_of(ctx.session, row) if message.sender in row.lecturers else []
        if not groups:
            continue
        if message.kind == "image" and image is None:
            image = await _image_b64(ctx, message)
        if message.kind == "image" and image:
            row.relay_segment += 1
            payload = {"image_b64": image, "name": message.text or "image.png"}
            for g in groups:
                queue_row(ctx, account=g.account, kind="image", target=g.room_id, target_is_room=True, payload=payload,
                          priority=Priority.LIVE)  # fmt: skip
        else:
            data = {"session": row.title, "speaker": message.sender_name, "text": message.text}
            template = "colearning_relay_image" if message.kind == "image" else "colearning_relay"
            key = f"colearning:{row.id}:{row.relay_segment}"
            for g in groups:
                queue_text(
                    ctx, target=g.room_id, room=True, template=template, data=data, account=g.account, coalesce_key=key
                )
        ids = [g.id for g in groups]
        await ensure_records(ctx.session, row.id, ids)
        await ctx.session.execute(
            update(ColearningGroupRecord)
            .where(ColearningGroupRecord.session_id == row.id, ColearningGroupRecord.application_id.in_(ids))
            .values(relayed=ColearningGroupRecord.relayed + 1)
        )


async def _image_b64(ctx: MessageContext, message: Message) -> str:
    """The image's bytes, base64, where the transport can fetch them and send them on
    (``capabilities.image_bytes`` and ``send_images``); "" where it cannot, and the groups get a
    line saying the lecturer showed an image instead of an empty picture."""
    if ctx.transport is None or not (ctx.transport.capabilities.image_bytes and ctx.transport.capabilities.send_images):
        return ""
    try:
        return base64.b64encode(await ctx.transport.image_bytes(message.id) or b"").decode()
    except TransportError as error:
        log.warning("colearning: image %s could not be fetched: %s", message.id, error)
        return ""


@router.message(private, keyword("共学营"))
async def how_to_apply(ctx: MessageContext) -> None:
    if ctx.distributor is not None and ctx.distributor.status == DistributorStatus.ACTIVE:
        ctx.reply("colearning_apply_steps", {"name": ctx.distributor.name})
    else:
        ctx.reply("colearning_not_distributor", {"platform": ctx.settings.raw.platform.name})


@router.on(event(RoomInvitation))
async def invitation(ctx: MessageContext, event: RoomInvitation) -> None:
    """Recorded for ops as before; from an active distributor it is a co-learning application:
    the distributor hears it arrived, ops hear there is one to decide."""
    await record_room_invitation(ctx, event, account=ctx.account)
    await apply_from_invitation(ctx, event, account=ctx.account)


@router.on(event(RoomJoin, RoomLeave), helper_joined_or_left)
async def helper_in_a_group(ctx: MessageContext, event: RoomJoin | RoomLeave, transport: Transport) -> None:
    """Members synced as ever. A join completes an approved application whose room id was not
    known (wechaty names the room only now): the one whose distributor is in this room. A
    leave (the helper was removed) takes the room's groups out of co-learning."""
    changed = event
    await sync_members(ctx, transport, changed.room)
    if isinstance(changed, RoomLeave):
        await ctx.session.execute(
            update(ColearningApplication)
            .where(
                ColearningApplication.room_id == changed.room,
                ColearningApplication.status == ApplicationStatus.ENROLLED,
            )
            .values(status=ApplicationStatus.LEFT)
        )
        return
    waiting = list(
        await ctx.session.execute(
            select(ColearningApplication, Distributor.contact_id)
            .join(Distributor, Distributor.id == ColearningApplication.distributor_id)
            .where(
                ColearningApplication.status == ApplicationStatus.APPROVED,
                ColearningApplication.room_id == "",
                ColearningApplication.account == transport.account,
            )
            .order_by(ColearningApplication.id)
        )
    )
    if not waiting:
        return
    members = set(await transport.room_members(changed.room))
    for application, contact in waiting:
        if contact and (contact == changed.inviter or contact in members):
            application.room_id, application.status = changed.room, ApplicationStatus.ENROLLED
            return

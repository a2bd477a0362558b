"""The outbox pages. Ops see each tab (queued, sending, sent, uncertain, dead letters,
dropped; and where the transport has them, group posts proposed to a staff member, private
messages held for the person's next message, expired posts) in pages of 50, every row said as
ops say it — who it goes to by name, what it is in words, when in the platform's time zone —
and uncertain messages and dead letters sent again or dropped from here, a proposed post's
staff member reminded to confirm it. A brand's course manager sees only the posts to their
brands' groups that wait on a staff member — proposed and expired
(``group_task_queries.of_brands``) — and may remind the staff member of them; another brand's
row answers 404, private messages (held), the other tabs and retry/drop answer 403."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.config import Settings
from bot.base.outbox import drops_on, local_day
from bot.base.transport import TransportError
from bot.console.auth import User
from bot.console.base import Form, error_page, ident, not_found, page, render, see_other
from bot.console.pages import LEADERBOARD_METRICS, PERIOD_LABELS
from bot.web.keys import ENV, HEALTH
from models import group_task_queries as tasks
from models.catalog import BrandGroup
from models.colearning import ColearningApplication
from models.messaging import ROOM_KINDS, OutboxMessage
from models.people import Distributor, EntryApplication
from models.rooms import FriendRequestRecord, RoomInvitationRecord
from models.statuses import FOR_OPS, OutboxStatus
from services import outbox as outbox_ops
from services.errors import Conflict, NotFound

routes = web.RouteTableDef()
PAGE_SIZE = 50
STATUSES = {
    OutboxStatus.QUEUED: "排队中",
    OutboxStatus.SENDING: "发送中",
    OutboxStatus.SENT: "已发送",
    OutboxStatus.UNCERTAIN: "待确认",
    OutboxStatus.DEAD: "失败",
    OutboxStatus.DROPPED: "已放弃",
    OutboxStatus.PROPOSED: "待员工确认",
    OutboxStatus.HELD: "等对方消息",
    OutboxStatus.EXPIRED: "已过期",
}
ORDER = {
    OutboxStatus.QUEUED: (OutboxMessage.not_before, OutboxMessage.id),  # the next to go first
    OutboxStatus.SENDING: (OutboxMessage.id,),
    OutboxStatus.SENT: (OutboxMessage.sent_at.desc(), OutboxMessage.id.desc()),  # the latest first
    OutboxStatus.UNCERTAIN: (OutboxMessage.id.desc(),),
    OutboxStatus.DEAD: (OutboxMessage.id.desc(),),
    OutboxStatus.DROPPED: (OutboxMessage.id.desc(),),
    OutboxStatus.PROPOSED: (OutboxMessage.id,),  # the longest waiting first
    OutboxStatus.HELD: (OutboxMessage.id,),
    OutboxStatus.EXPIRED: (OutboxMessage.id.desc(),),
}
# What was not sent today (models.messaging.OutboxDrop): why, and the commonest messages by name.
DROP_REASONS = {"cap": "队列已满未排队", "limit": "超出回复频率", "repeat": "重复的回复"}
DROPPED_NAMES = {"menu": "菜单", "menu_reminder": "菜单提醒", "how_to_join": "加入方法", "answer_later": "稍后再试"}


@dataclass(frozen=True)
class Names:
    """Who and where, by name, for the ids on one page of the outbox."""

    people: dict[str, str]
    rooms: dict[str, str]
    friend_requests: dict[str, tuple[str, str]]  # request id → (name, greeting)
    invitations: dict[str, str]  # invitation id → room topic
    brands: dict[str, str]

    def person(self, contact: str) -> str:
        return self.people.get(contact, contact)

    def room(self, room: str) -> str:
        return self.rooms.get(room, room)


async def names_for(session: AsyncSession, settings: Settings, rows: Sequence[OutboxMessage]) -> Names:
    contacts = {r.target for r in rows if not r.target_is_room and r.kind in ("text", "image", *ROOM_KINDS)}
    rooms = {r.target for r in rows if r.target_is_room} | {str(r.payload.get("room", "")) for r in rows}
    people = {b_manager: f"{b.name}课程经理" for b in settings.raw.brands for b_manager in b.managers}
    people.update({contact: "运营" for contact in settings.raw.ops})
    for contact, name in (
        (FriendRequestRecord.contact_id, FriendRequestRecord.name),
        (EntryApplication.contact_id, EntryApplication.name),
        (Distributor.contact_id, Distributor.name),  # last: a distributor's own name wins
    ):
        people.update(await _pairs(session, select(contact, name).where(contact.in_(contacts))))
    material = settings.raw.platform.material_group
    places = {} if material is None else {material: "素材群"}
    for room, name in (
        (RoomInvitationRecord.room_id, RoomInvitationRecord.topic),
        (ColearningApplication.room_id, ColearningApplication.topic),
        (BrandGroup.room_id, BrandGroup.name),
    ):
        places.update(await _pairs(session, select(room, name).where(room.in_(rooms))))
    requests = {r.target for r in rows if r.kind == "friend_accept"}
    friend_requests = {
        request_id: (name, hello)
        for request_id, name, hello in await session.execute(
            select(FriendRequestRecord.id, FriendRequestRecord.name, FriendRequestRecord.hello).where(
                FriendRequestRecord.id.in_(requests)
            )
        )
    }
    invitations = {r.target for r in rows if r.kind == "room_invitation_accept"}
    topics = await _pairs(
        session,
        select(RoomInvitationRecord.id, RoomInvitationRecord.topic).where(RoomInvitationRecord.id.in_(invitations)),
    )
    brands = {b.id: b.name for b in settings.raw.brands}
    return Names(people, places, friend_requests, topics, brands)


async def _pairs(session: AsyncSession, query: Any) -> dict[str, str]:
    return {str(key): str(value) for key, value in await session.execute(query) if key and value}


def describe(row: OutboxMessage, names: Names) -> dict[str, Any]:
    """A row as ops read it: ``to`` (a name), ``where`` (群 or 私聊, or the room for an add),
    ``what`` (the text, or the action in words)."""
    payload = row.payload or {}
    room = str(payload.get("room", ""))
    if row.kind == "friend_accept":
        name, hello = names.friend_requests.get(row.target, (row.target, ""))
        return {"to": name, "where": "好友申请", "what": f"通过好友申请{f'：“{hello}”' if hello else ''}"}
    if row.kind == "room_invitation_accept":
        topic = names.invitations.get(row.target, row.target)
        return {"to": topic, "where": "入群邀请", "what": f"接受入群邀请：{topic}"}
    if row.kind in ROOM_KINDS:
        verb = "拉进群" if row.kind == "room_add" else "发送入群邀请"
        return {"to": names.person(row.target), "where": "私聊", "what": f"{verb}：{names.room(room)}"}
    where = "群" if row.target_is_room else "私聊"
    to = names.room(row.target) if row.target_is_room else names.person(row.target)
    if row.kind == "image":
        return {"to": to, "where": where, "what": _image(row, names, payload)}
    return {"to": to, "where": where, "what": row.text}


def _image(row: OutboxMessage, names: Names, payload: dict[str, Any]) -> str:
    if row.template == "leaderboard_poster":
        # text "排行榜海报 <brand> <period> <metric>", as handlers.leaderboard writes it
        parts = row.text.split()
        if len(parts) == 4:
            _, brand, period, metric = parts
            words = [names.brands.get(brand, brand), PERIOD_LABELS.get(period, period)]
            return "排行榜海报：" + " · ".join([*words, LEADERBOARD_METRICS.get(metric, metric)])
        return "排行榜海报"
    return f"图片：{payload.get('name') or row.text or '图片'}"


def pages_of(total: int, current: str) -> tuple[int, int]:
    """(this page, how many pages) for a ``page`` query value; a bad or too high one is clamped."""
    count = max(1, -(-total // PAGE_SIZE))
    number = int(current) if current.isascii() and current.isdigit() and len(current) <= 6 else 1
    return min(max(number, 1), count), count


@routes.get("/console/outbox")
@page()
async def outbox(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    env = request.app[ENV]
    asked = request.query.get("status", "")
    shown = STATUSES if user.is_ops else {s: STATUSES[s] for s in tasks.MANAGERS_SEE}
    if asked in STATUSES and asked not in shown:
        return error_page(request, user, 403, "此页面仅限运营账号访问。")
    status = OutboxStatus(asked) if asked in shown else OutboxStatus.DEAD if user.is_ops else OutboxStatus.PROPOSED
    scope = [] if user.is_ops else [tasks.of_brands(user.brand_ids)]
    async with env.db.reading() as session:
        counts = dict(
            (
                await session.execute(
                    select(OutboxMessage.status, func.count()).where(*scope).group_by(OutboxMessage.status)
                )
            ).all()
        )
        number, count = pages_of(int(counts.get(status, 0)), request.query.get("page", "1"))
        rows = list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status == status, *scope)
                .order_by(*ORDER[status])
                .limit(PAGE_SIZE)
                .offset((number - 1) * PAGE_SIZE)
            )
        )
        names = await names_for(session, env.settings, rows)
        dropped = await drops_on(session, local_day(env.settings, env.clock.now())) if user.is_ops else []
    messages = [{"row": row, **describe(row, names)} for row in rows]
    return render(
        request,
        "outbox.html",
        user,
        section="outbox",
        status=status,
        statuses=shown,
        counts=counts,
        messages=messages,
        page=number,
        pages=_links(number, count),
        page_count=count,
        timezone=env.settings.raw.platform.timezone,
        dropped=dropped,
        drop_reasons=DROP_REASONS,
        dropped_names=DROPPED_NAMES,
    )


def _links(current: int, count: int) -> Iterable[int | None]:
    """Page numbers to link: the first, the last, and two either side of this one (None: a gap)."""
    shown = sorted({1, count, *range(max(1, current - 2), min(count, current + 2) + 1)})
    links: list[int | None] = []
    for number in shown:
        if links and links[-1] is not None and number > links[-1] + 1:
            links.append(None)
        links.append(number)
    return links


@routes.post("/console/outbox/{id}/{action:retry|drop}")
@page(ops_only=True)
async def resolve(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    """Send an uncertain or dead message again, or drop it (never sent)."""
    message_id = ident(request.match_info["id"])
    if message_id is None:
        return not_found(request, user)
    retrying = request.match_info["action"] == "retry"
    back = OutboxStatus.DEAD
    try:
        async with request.app[ENV].context(user.actor) as ctx:
            row = await ctx.session.get(OutboxMessage, message_id)
            if row is not None and row.status in FOR_OPS:
                back = row.status
            await outbox_ops.resolve(ctx, message_id, retry=retrying)
    except NotFound:
        return not_found(request, user)
    except Conflict:
        outcome = "already"
    else:
        outcome = "retried" if retrying else "dropped"
    raise see_other(f"/console/outbox?status={back}&ok={outcome}")


@routes.post("/console/outbox/{id}/remind")
@page()
async def remind(request: web.Request, user: User, form: Form) -> web.StreamResponse:
    """Remind the staff member to confirm a proposed group post (WeCom: 3 reminders a task a
    day). A manager reminds for their brands' groups only: another brand's post is not found."""
    message_id = ident(request.match_info["id"])
    transport = request.app[HEALTH].transport
    async with request.app[ENV].db.reading() as session:
        row = await session.get(OutboxMessage, message_id) if message_id is not None else None
        brand = await tasks.room_brand(session, row.target) if row is not None and row.target_is_room else None
    if row is None or transport is None or not user.sees_brand(brand):
        return not_found(request, user)
    if row.status != OutboxStatus.PROPOSED or not row.task_id:
        outcome = "already"
    else:
        try:
            await transport.remind_post(row.task_id)
        except TransportError:
            outcome = "remind_refused"
        else:
            outcome = "reminded"
    raise see_other(f"/console/outbox?status={OutboxStatus.PROPOSED}&ok={outcome}")

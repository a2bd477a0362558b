"""The simulator with WeCom's rules (``transport.sim.flavour: wecom``): the same world and
``/sim`` page, and what an operator's day looks like on WeCom.

- A post to a group is only *proposed*: it waits on ``/sim/wecom`` until the operator, as the
  staff member, presses "确认发送"; then it appears in the group — unless the group had its
  month's share of group messages already (as many as the month has days): then it is refused
  for the cap, as WeCom refuses it, and the page says so.
- Nobody is added or invited: people join by the brand's join code (a link to the group on the
  page); a friend request is a contact added by a 联系我 code (accepted at once, its greeting
  the code's state).
- Private messages go only within 48 h of the person's last message, 5 per message.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from html import escape

from aiohttp import web

from bot.base.transport import (
    Event,
    FriendRequest,
    JoinCode,
    Message,
    NeedInvite,
    OutsideWindow,
    PostState,
    Refused,
    UnknownTarget,
    Unsupported,
    WebRoute,
)
from bot.transports.sim import SimTransport, SimWorld
from bot.transports.wecom_transport import WECOM
from core import kf_window

REMINDERS_A_DAY = 3
_KF_LIMITS = kf_window.Limits()


@dataclass
class SimTask:
    id: str
    room: str
    text: str
    image: bytes | None
    proposed: datetime
    state: PostState = PostState.PROPOSED
    reminders: list[datetime] = field(default_factory=list)


class SimWeComTransport(SimTransport):
    capabilities = replace(WECOM, rooms_per_post=1)  # the simulator proposes a post per room

    def __init__(self, world: SimWorld, *, page_url: str | None = None):
        super().__init__(world, page_url=page_url)
        self._now = world.clock  # the world's clock: windows and tasks in its time
        self.tasks: dict[str, SimTask] = {}
        self._ids = itertools.count(1)
        self._windows: dict[str, kf_window.Window] = {}

    # --- what people do ---------------------------------------------------------------------

    def deliver(self, event: Event) -> None:
        if isinstance(event, Message) and event.private:
            # their message opens the window
            self._windows[event.sender] = kf_window.opened(self._windows.get(event.sender), self._now())
        if isinstance(event, FriendRequest):
            self.world.befriend(event.contact)  # a 联系我 add: a contact at once, nothing to accept
        super().deliver(event)

    # --- the helper acts --------------------------------------------------------------------

    async def send_text(
        self, target: str, text: str, *, room: bool, mentions: Sequence[str] = (), ref: str | None = None
    ) -> str:
        if mentions:
            raise Unsupported("WeCom group messages cannot @-mention members")
        if room:
            return self._propose(target, text, None)
        self._spend_window(target)
        return await super().send_text(target, text, room=False, ref=ref)

    async def send_image(self, target: str, image: bytes, *, room: bool, name: str, ref: str | None = None) -> str:
        if room:
            return self._propose(target, name or "图片", image)
        self._spend_window(target)
        return await super().send_image(target, image, room=False, name=name, ref=ref)

    def _propose(self, room: str, text: str, image: bytes | None) -> str:
        if room not in self.world.rooms:
            raise UnknownTarget(f"no room {room}")
        task = SimTask(f"simtask-{next(self._ids)}", room, text, image, self._now())
        self.tasks[task.id] = task
        return task.id

    def _spend_window(self, person: str) -> None:
        window = self._windows.get(person)
        why = kf_window.refusal(window, self._now(), _KF_LIMITS)
        if why is not None or window is None:
            raise OutsideWindow(f"{person} {why}")
        self._windows[person] = kf_window.spent(window)

    def confirm(self, task_id: str) -> PostState:
        """The staff member confirms the task: posted, or refused for the room's monthly cap."""
        task = self.tasks[task_id]
        if task.state is not PostState.PROPOSED:
            return task.state
        now = self._now()
        cap = self.capabilities.group_post_cap
        assert cap is not None
        month = (now.year, now.month)
        used = sum(1 for t in self.tasks.values() if t.room == task.room and t.state is PostState.SENT
                   and (t.proposed.year, t.proposed.month) == month)
        if used >= cap.allowed(now.date()):
            task.state = PostState.CAPPED
            return task.state
        if task.image is not None:
            self.world.say(self.account, task.text, room=task.room, kind="image", image=task.image, ref=task.id)
        else:
            self.world.say(self.account, task.text, room=task.room, ref=task.id)
        task.state = PostState.SENT
        return task.state

    async def post_states(self, task_id: str, rooms: Sequence[str]) -> Mapping[str, PostState]:
        task = self.tasks.get(task_id)
        return dict.fromkeys(rooms, task.state if task is not None else PostState.FAILED)  # a restart forgot it

    async def remind_post(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            raise UnknownTarget(f"no task {task_id}")
        now = self._now()
        task.reminders = [at for at in task.reminders if now - at < timedelta(hours=24)]
        if len(task.reminders) >= REMINDERS_A_DAY:
            raise Refused("at most 3 reminders a task in 24 h")
        task.reminders.append(now)

    async def cancel_post(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is not None and task.state is PostState.PROPOSED:
            task.state = PostState.FAILED

    async def join_code(self, rooms: Sequence[str], *, name: str, state: str) -> JoinCode:
        return JoinCode(f"simjoin-{state}", f"{self.page_url or '/sim'}#join={rooms[0]}")

    async def contact_code(self, state: str) -> JoinCode:
        return JoinCode(f"simcontact-{state}", f"{self.page_url or '/sim'}#add={state}")

    async def add_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        raise NeedInvite("WeCom customer groups take nobody by an add: people join by the group's join code")

    async def invite_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        raise Unsupported("WeCom has no invitation cards to customer groups")

    async def remove_from_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        raise Unsupported("WeCom's APIs cannot remove a member from a customer group")

    async def image_bytes(self, message_id: str) -> bytes:
        raise Unsupported("the wecom flavour does not read the pictures people send")

    async def accept_friend(self, request_id: str) -> None:
        raise Unsupported("WeCom has no friend requests: customers add the helper by a 联系我 code")

    async def accept_room_invitation(self, invitation_id: str) -> None:
        raise Unsupported("WeCom's APIs cannot take the helper into someone's group")

    async def create_room(self, topic: str, members: Sequence[str]) -> str:
        raise Unsupported("WeCom opens new customer groups itself, from a full join code")

    # --- the page ---------------------------------------------------------------------------

    def web_routes(self) -> list[WebRoute]:
        return [*super().web_routes(), web.get("/sim/wecom", self._page),
                web.post("/sim/wecom/tasks/{id}/confirm", self._confirm)]

    async def _page(self, request: web.Request) -> web.Response:
        labels = {PostState.PROPOSED: "待确认", PostState.SENT: "已发送",
                  PostState.CAPPED: "本月群发次数已用完，未发送", PostState.FAILED: "已撤回"}
        rows = []
        for task in reversed(list(self.tasks.values())):
            topic = self.world.rooms[task.room].topic if task.room in self.world.rooms else task.room
            button = (f'<form method="post" action="/sim/wecom/tasks/{task.id}/confirm">'
                      '<button type="submit">确认发送</button></form>' if task.state is PostState.PROPOSED else "")
            rows.append(f"<tr><td>{escape(topic)}</td><td style='white-space:pre-wrap'>{escape(task.text)}</td>"
                        f"<td>{labels[task.state]}</td><td>{button}</td></tr>")
        html = ("<!doctype html><meta charset='utf-8'><title>企业微信群发任务</title><h1>企业微信群发任务</h1>"
                "<p>小助手发往客户群的消息要员工确认后才会发出；每个群每月最多收到当月天数条群发。</p>"
                "<table border='1' cellpadding='4'><tr><th>群</th><th>内容</th><th>状态</th><th></th></tr>"
                + "".join(rows) + "</table><p><a href='/sim'>回到模拟器</a></p>")
        return web.Response(text=html, content_type="text/html")

    async def _confirm(self, request: web.Request) -> web.Response:
        task_id = request.match_info["id"]
        if task_id not in self.tasks:
            raise web.HTTPNotFound()
        self.confirm(task_id)
        raise web.HTTPSeeOther("/sim/wecom")

    def banner(self, base_url: str) -> str:
        return (f"WeChat simulator with WeCom's rules: open {base_url}/sim to chat, {base_url}/sim/wecom to confirm"
                " group posts as the staff member")

"""The fake's group messages (企业群发) and temporary media.

Rules kept (WECOM.md §5): add_msg_template only *proposes* — nothing reaches anyone until the
member confirms in the client (the test hook :meth:`FakeGroupMessages.confirm`); a group task
needs its sender, who must own the groups (others go to ``fail_list``); a single-chat task goes
to the member who has the customer. At confirmation each customer and each customer group gets
at most (days in the month, Shanghai time) group messages a month: beyond that its status is 3
and nothing is delivered; a customer no longer a contact is status 2. Tasks read 0/2, send
results 0/1/2/3. A task can be reminded 3 times in 24 h and cancelled (then never confirmed).
Media ids last 3 days.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tests.wecom.fake_base import BAD_MEDIA, BAD_PARAM, REMINDED_ENOUGH, days_in_month, month_of, require, unix

if TYPE_CHECKING:
    from tests.wecom.fake_server import FakeWeCom

MEDIA_LIFETIME = timedelta(days=3)
MAX_REMINDERS = 3


@dataclass
class Recipient:
    external_userid: str = ""
    chat_id: str = ""
    status: int = 0  # 0 not sent, 1 sent, 2 not a contact, 3 over the monthly cap
    sent: datetime | None = None

    @property
    def key(self) -> str:
        return self.chat_id or self.external_userid


@dataclass
class Task:
    userid: str
    recipients: list[Recipient]
    status: int = 0  # 0 unsent, 2 sent
    sent: datetime | None = None


@dataclass
class Template:
    msgid: str
    chat_type: str
    creator: str
    created: datetime
    text: str
    attachments: list[dict[str, Any]]
    tasks: dict[str, Task] = field(default_factory=dict)
    cancelled: bool = False
    reminders: list[datetime] = field(default_factory=list)


@dataclass
class Delivery:
    msgid: str
    to: str  # chat_id or external_userid
    text: str
    at: datetime


class FakeGroupMessages:
    def __init__(self, server: FakeWeCom, *, monthly_cap: Callable[[datetime], int] = days_in_month):
        self.server = server
        self.monthly_cap = monthly_cap
        self.templates: dict[str, Template] = {}
        self.deliveries: list[Delivery] = []

    # --- test hooks -------------------------------------------------------------------------

    def confirm(self, msgid: str, userid: str) -> dict[str, int]:
        """``userid`` confirms their part of the task in the client: each recipient's status."""
        template = self.templates[msgid]
        if template.cancelled:
            raise RuntimeError(f"task {msgid} was cancelled: there is nothing to confirm")
        task = template.tasks[userid]
        now = self.server.clock.now()
        for recipient in task.recipients:
            if recipient.external_userid and (userid, recipient.external_userid) not in self.server.contacts.relations:
                recipient.status = 2
            elif self.received_this_month(recipient.key, now) >= self.monthly_cap(now):
                recipient.status = 3
            else:
                recipient.status, recipient.sent = 1, now
                self.deliveries.append(Delivery(msgid, recipient.key, template.text, now))
        task.status, task.sent = 2, now
        return {r.key: r.status for r in task.recipients}

    def received(self, to: str) -> list[str]:
        """The texts that reached a group or a customer through confirmed tasks."""
        return [d.text for d in self.deliveries if d.to == to]

    def received_this_month(self, to: str, at: datetime) -> int:
        return sum(1 for d in self.deliveries if d.to == to and month_of(d.at) == month_of(at))

    # --- API --------------------------------------------------------------------------------

    def add_msg_template(self, body: dict[str, Any]) -> dict[str, Any]:
        chat_type = body.get("chat_type", "single")
        require(chat_type in ("single", "group"), BAD_PARAM, "chat_type is single or group")
        sender = str(body.get("sender", ""))
        contacts = self.server.contacts
        require(not sender or sender in contacts.staff, BAD_PARAM, "unknown sender")
        attachments = list(body.get("attachments") or [])
        require(len(attachments) <= 9, BAD_PARAM, "at most 9 attachments")
        text = str((body.get("text") or {}).get("content", ""))
        require(text or attachments, BAD_PARAM, "a text or an attachment")
        require(len(text.encode()) <= 4000, BAD_PARAM, "text.content is at most 4000 bytes")
        self.server.media.check_attachments(attachments)
        tasks: dict[str, Task] = {}
        fail: list[str] = []
        if chat_type == "group":
            require(sender, BAD_PARAM, "a group task needs its sender")
            chat_ids = list(body.get("chat_id_list") or self.server.groups.owned_by(sender))
            require(len(chat_ids) <= 2000, BAD_PARAM, "at most 2000 groups")
            owned = set(self.server.groups.owned_by(sender))
            fail = [c for c in chat_ids if c not in owned]
            mine = [Recipient(chat_id=c) for c in chat_ids if c in owned]
            if mine:
                tasks[sender] = Task(sender, mine)
        else:
            for external_userid in body.get("external_userid") or []:
                follows = [r.userid for r in contacts.followers(external_userid)]
                owner = sender if sender in follows else (follows[-1] if follows else "")
                if not owner:
                    fail.append(external_userid)
                    continue
                tasks.setdefault(owner, Task(owner, [])).recipients.append(Recipient(external_userid=external_userid))
        require(tasks, BAD_PARAM, "no valid recipient")
        msgid = self.server.ids.next("msg")
        self.templates[msgid] = Template(msgid, chat_type, sender or next(iter(tasks)), self.server.clock.now(),
                                         text, attachments, tasks)
        return {"msgid": msgid, "fail_list": fail}

    def get_groupmsg_list_v2(self, body: dict[str, Any]) -> dict[str, Any]:
        start, end = int(body.get("start_time") or 0), int(body.get("end_time") or 0)
        limit = int(body.get("limit") or 50)
        require(1 <= limit <= 100, BAD_PARAM, "limit is 1–100")
        creator = body.get("creator")
        found = [t for t in self.templates.values() if t.chat_type == body.get("chat_type", "single")
                 and start <= unix(t.created) <= end and (not creator or t.creator == creator)]
        offset = int(body.get("cursor") or 0)
        page = found[offset:offset + limit]
        return {"group_msg_list": [{"msgid": t.msgid, "creator": t.creator, "create_time": unix(t.created),
                                    "create_type": 0, "text": {"content": t.text}, "attachments": t.attachments}
                                   for t in page],
                **({"next_cursor": str(offset + limit)} if offset + limit < len(found) else {})}

    def get_groupmsg_task(self, body: dict[str, Any]) -> dict[str, Any]:
        template = self._template(body)
        rows = [{"userid": t.userid, "status": t.status, **({"send_time": unix(t.sent)} if t.sent else {})}
                for t in template.tasks.values()]
        return self._page(rows, body, "task_list")

    def get_groupmsg_send_result(self, body: dict[str, Any]) -> dict[str, Any]:
        template = self._template(body)
        task = template.tasks.get(str(body.get("userid", "")))
        require(task is not None, BAD_PARAM, "no task for this member")
        assert task is not None
        rows = [{**({"chat_id": r.chat_id} if r.chat_id else {"external_userid": r.external_userid}),
                 "userid": task.userid, "status": r.status, **({"send_time": unix(r.sent)} if r.sent else {})}
                for r in task.recipients]
        return self._page(rows, body, "send_list")

    def remind_groupmsg_send(self, body: dict[str, Any]) -> dict[str, Any]:
        template = self._template(body)
        require(not template.cancelled, BAD_PARAM, "the task was cancelled")
        now = self.server.clock.now()
        recent = [at for at in template.reminders if now - at < timedelta(hours=24)]
        require(len(recent) < MAX_REMINDERS, REMINDED_ENOUGH, "at most 3 reminders a task in 24 h")
        template.reminders.append(now)
        return {}

    def cancel_groupmsg_send(self, body: dict[str, Any]) -> dict[str, Any]:
        self._template(body).cancelled = True
        return {}

    def _template(self, body: dict[str, Any]) -> Template:
        template = self.templates.get(str(body.get("msgid", "")))
        require(template is not None, BAD_PARAM, "unknown msgid")
        assert template is not None
        return template

    def _page(self, rows: list[dict[str, Any]], body: dict[str, Any], name: str) -> dict[str, Any]:
        limit = int(body.get("limit") or 500)
        require(1 <= limit <= 1000, BAD_PARAM, "limit is 1–1000")
        offset = int(body.get("cursor") or 0)
        return {name: rows[offset:offset + limit],
                **({"next_cursor": str(offset + limit)} if offset + limit < len(rows) else {})}


@dataclass
class Media:
    type: str
    created: datetime
    size: int
    data: bytes = b""


class FakeMedia:
    def __init__(self, server: FakeWeCom):
        self.server = server
        self.items: dict[str, Media] = {}

    def upload(self, kind: str, data: bytes) -> dict[str, Any]:
        require(kind in ("image", "voice", "video", "file"), BAD_PARAM, "type is image, voice, video or file")
        require(data, BAD_PARAM, "an empty file")
        media_id = self.server.ids.next("media-")
        now = self.server.clock.now()
        self.items[media_id] = Media(kind, now, len(data), data)
        return {"type": kind, "media_id": media_id, "created_at": str(unix(now))}

    def get(self, media_id: str) -> Media:
        """media/get: the file of a media id still valid (40007 otherwise)."""
        self.check(media_id)
        return self.items[media_id]

    def check(self, media_id: str) -> None:
        media = self.items.get(media_id)
        require(media is not None and self.server.clock.now() - media.created < MEDIA_LIFETIME, BAD_MEDIA,
                "invalid media_id")

    def check_attachments(self, attachments: list[dict[str, Any]]) -> None:
        for attachment in attachments:
            body = attachment.get(str(attachment.get("msgtype", ""))) or {}
            for name in ("media_id", "pic_media_id"):
                if name in body:
                    self.check(str(body[name]))

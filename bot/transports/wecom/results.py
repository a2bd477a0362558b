"""What the API client returns: typed views of WeCom's JSON (WECOM.md §3–§6, §10).

Each view keeps the JSON it came from in ``raw`` (fields WeCom adds later are not lost), and
times are aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, Generic, TypeVar

from bot.transports.wecom.clocks import from_unix
from bot.transports.wecom.errors import InvalidRequest

T = TypeVar("T")
Json = Mapping[str, Any]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a cursor-paged list; ``next_cursor`` is "" on the last page."""

    items: tuple[T, ...]
    next_cursor: str

    @property
    def last(self) -> bool:
        return not self.next_cursor


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: datetime


# --- contacts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactWay:
    """A 联系我 code: keep ``config_id`` (API-made codes are invisible in the admin console)."""

    config_id: str
    qr_code: str
    state: str = ""
    users: tuple[str, ...] = ()
    raw: Json = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> ContactWay:
        return cls(config_id=data.get("config_id", ""), qr_code=data.get("qr_code", ""),
                   state=data.get("state", ""), users=tuple(data.get("user") or ()), raw=data)


@dataclass(frozen=True)
class FollowUser:
    userid: str
    remark: str
    added: datetime | None
    state: str
    tags: tuple[Json, ...] = ()


@dataclass(frozen=True)
class ExternalContact:
    external_userid: str
    name: str
    type: int  # 1 WeChat user, 2 WeCom user
    unionid: str
    follow_users: tuple[FollowUser, ...]
    next_cursor: str
    raw: Json = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> ExternalContact:
        contact = data.get("external_contact") or {}
        follows = tuple(
            FollowUser(userid=f.get("userid", ""), remark=f.get("remark", ""), added=parse_time(f.get("createtime")),
                       state=f.get("state", ""), tags=tuple(f.get("tags") or ()))
            for f in data.get("follow_user") or ()
        )
        return cls(external_userid=contact.get("external_userid", ""), name=contact.get("name", ""),
                   type=int(contact.get("type") or 0), unionid=contact.get("unionid", ""), follow_users=follows,
                   next_cursor=data.get("next_cursor", ""), raw=data)


# --- customer groups -------------------------------------------------------------------------


class MemberType(IntEnum):
    STAFF = 1
    EXTERNAL = 2


@dataclass(frozen=True)
class GroupChatRef:
    chat_id: str
    status: int


@dataclass(frozen=True)
class GroupMember:
    userid: str
    type: int
    joined: datetime | None
    join_scene: int  # 1 direct invite, 2 invite link, 3 QR code
    invitor: str
    group_nickname: str
    name: str
    unionid: str
    state: str  # the join way's state, when the member came through one

    @property
    def external(self) -> bool:
        return self.type == MemberType.EXTERNAL


@dataclass(frozen=True)
class GroupChat:
    chat_id: str
    name: str
    owner: str
    created: datetime | None
    notice: str
    members: tuple[GroupMember, ...]
    admins: tuple[str, ...]
    member_version: str
    raw: Json = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> GroupChat:
        chat = data.get("group_chat") or {}
        members = tuple(
            GroupMember(userid=m.get("userid", ""), type=int(m.get("type") or 0), joined=parse_time(m.get("join_time")),
                        join_scene=int(m.get("join_scene") or 0), invitor=(m.get("invitor") or {}).get("userid", ""),
                        group_nickname=m.get("group_nickname", ""), name=m.get("name", ""),
                        unionid=m.get("unionid", ""), state=m.get("state", ""))
            for m in chat.get("member_list") or ()
        )
        return cls(chat_id=chat.get("chat_id", ""), name=chat.get("name", ""), owner=chat.get("owner", ""),
                   created=parse_time(chat.get("create_time")), notice=chat.get("notice", ""), members=members,
                   admins=tuple(a.get("userid", "") for a in chat.get("admin_list") or ()),
                   member_version=str(chat.get("member_version", "")), raw=data)


@dataclass(frozen=True)
class JoinWay:
    config_id: str
    scene: int
    remark: str
    auto_create_room: bool
    room_base_name: str
    room_base_id: int
    chat_ids: tuple[str, ...]
    qr_code: str
    state: str
    raw: Json = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> JoinWay:
        way = data.get("join_way") or {}
        return cls(config_id=way.get("config_id", ""), scene=int(way.get("scene") or 0), remark=way.get("remark", ""),
                   auto_create_room=bool(way.get("auto_create_room")), room_base_name=way.get("room_base_name", ""),
                   room_base_id=int(way.get("room_base_id") or 0), chat_ids=tuple(way.get("chat_id_list") or ()),
                   qr_code=way.get("qr_code", ""), state=way.get("state", ""), raw=data)


# --- group messages (add_msg_template) and media ---------------------------------------------


class ChatType(StrEnum):
    SINGLE = "single"
    GROUP = "group"


class TaskStatus(IntEnum):
    UNSENT = 0
    SENT = 2


class SendStatus(IntEnum):
    NOT_SENT = 0
    SENT = 1
    NOT_FRIEND = 2  # the customer is no longer a contact
    CAP_REACHED = 3  # the recipient already had its share of group messages: do not retry


@dataclass(frozen=True)
class Attachment:
    """One attachment of a welcome or group message (at most 9)."""

    msgtype: str
    body: Json

    def to_json(self) -> dict[str, Any]:
        return {"msgtype": self.msgtype, self.msgtype: dict(self.body)}

    @classmethod
    def image(cls, *, media_id: str = "", pic_url: str = "") -> Attachment:
        if bool(media_id) == bool(pic_url):
            raise InvalidRequest("an image attachment takes a media_id or a pic_url")
        return cls("image", {"media_id": media_id} if media_id else {"pic_url": pic_url})

    @classmethod
    def link(cls, *, title: str, url: str, picurl: str = "", desc: str = "") -> Attachment:
        return cls("link", {"title": title, "url": url, "picurl": picurl, "desc": desc})

    @classmethod
    def miniprogram(cls, *, title: str, pic_media_id: str, appid: str, page: str) -> Attachment:
        return cls("miniprogram", {"title": title, "pic_media_id": pic_media_id, "appid": appid, "page": page})

    @classmethod
    def video(cls, *, media_id: str) -> Attachment:
        return cls("video", {"media_id": media_id})

    @classmethod
    def file(cls, *, media_id: str) -> Attachment:
        return cls("file", {"media_id": media_id})


@dataclass(frozen=True)
class MsgTemplateResult:
    """A group-message task was created: nothing is sent until the member confirms it."""

    msgid: str
    fail_list: tuple[str, ...]


@dataclass(frozen=True)
class GroupMsg:
    msgid: str
    creator: str
    created: datetime | None
    create_type: int
    text: str
    attachments: tuple[Json, ...]


@dataclass(frozen=True)
class GroupMsgTask:
    userid: str
    status: int  # TaskStatus
    sent: datetime | None


@dataclass(frozen=True)
class SendResult:
    external_userid: str
    chat_id: str
    userid: str
    status: int  # SendStatus
    sent: datetime | None


class MediaType(StrEnum):
    IMAGE = "image"
    VOICE = "voice"
    VIDEO = "video"
    FILE = "file"


@dataclass(frozen=True)
class MediaUpload:
    """A temporary media id: valid 3 days from ``created``."""

    type: str
    media_id: str
    created: datetime | None


# --- 微信客服 ---------------------------------------------------------------------------------


class KfOrigin(IntEnum):
    CUSTOMER = 3
    EVENT = 4
    SERVICER = 5


@dataclass(frozen=True)
class KfMessage:
    msgid: str
    open_kfid: str
    external_userid: str
    servicer_userid: str
    sent: datetime | None
    origin: int  # KfOrigin
    msgtype: str
    raw: Json = field(default_factory=dict, repr=False, compare=False)

    @property
    def text(self) -> str:
        return str((self.raw.get("text") or {}).get("content", "")) if self.msgtype == "text" else ""

    @property
    def event(self) -> Json:
        return self.raw.get("event") or {} if self.msgtype == "event" else {}

    @property
    def media_id(self) -> str:
        """An image, voice, video or file message's media (``media/get``, valid 3 days)."""
        return str((self.raw.get(self.msgtype) or {}).get("media_id", "")) if self.msgtype else ""

    @classmethod
    def from_json(cls, data: Json) -> KfMessage:
        return cls(msgid=data.get("msgid", ""), open_kfid=data.get("open_kfid", ""),
                   external_userid=data.get("external_userid", ""), servicer_userid=data.get("servicer_userid", ""),
                   sent=parse_time(data.get("send_time")), origin=int(data.get("origin") or 0),
                   msgtype=data.get("msgtype", ""), raw=data)


@dataclass(frozen=True)
class KfSync:
    """One ``sync_msg`` answer. Persist ``next_cursor`` before handling ``messages``' effects
    elsewhere; go on while ``has_more`` (a page may be empty and still have more)."""

    next_cursor: str
    has_more: bool
    messages: tuple[KfMessage, ...]


class KfServiceState(IntEnum):
    NEW = 0  # untreated: the API may answer
    ASSISTANT = 1  # with the smart assistant: the API may answer
    QUEUED = 2
    HUMAN = 3
    ENDED = 4


@dataclass(frozen=True)
class ServiceState:
    state: int  # KfServiceState
    servicer_userid: str

    @property
    def api_may_send(self) -> bool:
        return self.state in (KfServiceState.NEW, KfServiceState.ASSISTANT)


def parse_time(value: Any) -> datetime | None:
    if value in (None, "", 0, "0"):
        return None
    return from_unix(value)


def check_len(name: str, value: str, limit: int, *, unit: str = "characters") -> None:
    size = len(value.encode()) if unit == "bytes" else len(value)
    if size > limit:
        raise InvalidRequest(f"{name} has {size} {unit}, WeCom takes at most {limit}")


def check_count(name: str, values: Sequence[Any], limit: int, *, at_least: int = 0) -> None:
    if not at_least <= len(values) <= limit:
        bound = f"{at_least}–{limit}" if at_least else f"at most {limit}"
        raise InvalidRequest(f"{name} has {len(values)} entries, WeCom takes {bound}")


def check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise InvalidRequest(f"{name} is {value}, WeCom takes {low}–{high}")

"""Decrypted callback messages as typed events (WECOM.md §2–§4, §6).

:func:`parse_event` turns the XML :meth:`CallbackCrypto.open` returns into one of:

- :class:`ExternalContactAdded` — a customer added a member (``add_external_contact``, also
  ``add_half_external_contact``), with the ``State`` of the 联系我 code used and, when WeCom
  offers one, the ``WelcomeCode`` that must be spent within 20 s;
- :class:`ExternalContactRemoved` — ``del_external_contact`` (the member removed the customer)
  or ``del_follow_user`` (the customer removed the member);
- :class:`ExternalContactChanged` — the other contact changes (edit, transfer_fail…);
- :class:`ExternalChatChanged` — ``change_external_chat``: a customer group created, updated
  (members in or out, owner, name, notice) or dismissed. The member list may be merged or
  missing, so the group is read again with ``groupchat/get``; the event only says when;
- :class:`KfMsgOrEvent` — 微信客服 has news for ``OpenKfId``: fetch it with ``kf/sync_msg`` and
  the ``Token`` (valid 10 minutes);
- :class:`OtherCallback` — anything else (kept, so the endpoint can log and acknowledge it).

Each has :attr:`dedupe_key`: WeCom retries a callback it got no answer to (three tries in all),
so the same key arriving twice is the same news. The key is ``MsgId`` when the message has one,
else ``FromUserName + CreateTime`` — plus, for contact and group events, the change type and
who it is about, since several distinct changes can share one second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, TypeVar

from bot.transports.wecom import xmlsafe
from bot.transports.wecom.clocks import from_unix
from bot.transports.wecom.errors import MalformedCallback

_E = TypeVar("_E", bound=StrEnum)
_S = TypeVar("_S", bound=IntEnum)


class ContactChange(StrEnum):
    ADD = "add_external_contact"
    ADD_HALF = "add_half_external_contact"  # the customer added the member, not yet accepted
    EDIT = "edit_external_contact"
    DEL_EXTERNAL = "del_external_contact"  # the member removed the customer
    DEL_FOLLOW_USER = "del_follow_user"  # the customer removed the member
    TRANSFER_FAIL = "transfer_fail"
    OTHER = "other"


class ChatChange(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DISMISS = "dismiss"
    OTHER = "other"


class ChatUpdate(StrEnum):
    ADD_MEMBER = "add_member"
    DEL_MEMBER = "del_member"
    CHANGE_OWNER = "change_owner"
    CHANGE_NAME = "change_name"
    CHANGE_NOTICE = "change_notice"
    NONE = ""  # create / dismiss carry no detail
    OTHER = "other"


class JoinScene(IntEnum):
    INVITED = 0  # invited by a member (directly or by link)
    QR_CODE = 3  # scanned the group's QR code (a join way)


class QuitScene(IntEnum):
    LEFT = 0
    REMOVED = 1


@dataclass(frozen=True)
class CallbackEvent:
    to_user_name: str
    from_user_name: str
    created: datetime
    msg_type: str
    event: str
    raw: Mapping[str, str] = field(repr=False, compare=False)

    @property
    def dedupe_key(self) -> str:
        msg_id = self.raw.get("MsgId", "")
        if msg_id:
            return f"msg:{msg_id}"
        return ":".join((self.from_user_name, str(int(self.created.timestamp())), self.event, *self._key_parts()))

    def _key_parts(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True)
class _ContactEvent(CallbackEvent):
    change_type: ContactChange
    user_id: str
    external_user_id: str

    def _key_parts(self) -> tuple[str, ...]:
        return (self.raw.get("ChangeType", ""), self.user_id, self.external_user_id)


@dataclass(frozen=True)
class ExternalContactAdded(_ContactEvent):
    """``state`` is what the bot put on the 联系我 code (≤30 chars) — "" when the customer came
    another way. ``welcome_code`` is "" when WeCom offers no welcome (an admin welcome is set,
    or the chat had started)."""

    state: str
    welcome_code: str


@dataclass(frozen=True)
class ExternalContactRemoved(_ContactEvent):
    @property
    def by_customer(self) -> bool:
        return self.change_type is ContactChange.DEL_FOLLOW_USER


@dataclass(frozen=True)
class ExternalContactChanged(_ContactEvent):
    pass


@dataclass(frozen=True)
class ExternalChatChanged(CallbackEvent):
    """``members`` (``MemChangeList``) and the member versions are newer fields that may be
    missing, and WeCom may merge several changes into one event: the group is read again."""

    chat_id: str
    change_type: ChatChange
    update_detail: ChatUpdate
    join_scene: JoinScene | None
    quit_scene: QuitScene | None
    member_change_count: int
    members: tuple[str, ...]
    last_member_version: str
    member_version: str

    def _key_parts(self) -> tuple[str, ...]:
        return (self.raw.get("ChangeType", ""), self.chat_id, self.raw.get("UpdateDetail", ""),
                self.raw.get("CurMemVer", ""))


@dataclass(frozen=True)
class KfMsgOrEvent(CallbackEvent):
    token: str
    open_kfid: str

    def _key_parts(self) -> tuple[str, ...]:
        return (self.open_kfid, self.token)


@dataclass(frozen=True)
class OtherCallback(CallbackEvent):
    pass


def parse_event(xml: bytes | str) -> CallbackEvent:
    """The event in a decrypted callback message; :class:`MalformedCallback` when a field its
    kind needs is missing or not a number where one is due."""
    root = xmlsafe.parse(xml)
    values = xmlsafe.fields(root)
    base: dict[str, Any] = {
        "to_user_name": values.get("ToUserName", ""),
        "from_user_name": values.get("FromUserName", ""),
        "created": from_unix(_int(values, "CreateTime")),
        "msg_type": values.get("MsgType", ""),
        "event": values.get("Event", ""),
        "raw": values,
    }
    event = base["event"]
    if event == "change_external_contact":
        return _contact_event(values, base)
    if event == "change_external_chat":
        return ExternalChatChanged(
            **base,
            chat_id=_required(values, "ChatId"),
            change_type=_member(ChatChange, values.get("ChangeType", "")),
            update_detail=_member(ChatUpdate, values.get("UpdateDetail", "")),
            join_scene=_scene(JoinScene, values.get("JoinScene")),
            quit_scene=_scene(QuitScene, values.get("QuitScene")),
            member_change_count=_int(values, "MemChangeCnt", default=0),
            members=xmlsafe.items(root, "MemChangeList"),
            last_member_version=values.get("LastMemVer", ""),
            member_version=values.get("CurMemVer", ""),
        )
    if event == "kf_msg_or_event":
        return KfMsgOrEvent(**base, token=_required(values, "Token"), open_kfid=_required(values, "OpenKfId"))
    return OtherCallback(**base)


def _contact_event(values: dict[str, str], base: dict[str, Any]) -> CallbackEvent:
    change = _member(ContactChange, values.get("ChangeType", ""))
    user_id, external_user_id = _required(values, "UserID"), _required(values, "ExternalUserID")
    if change in (ContactChange.ADD, ContactChange.ADD_HALF):
        return ExternalContactAdded(**base, change_type=change, user_id=user_id, external_user_id=external_user_id,
                                    state=values.get("State", ""), welcome_code=values.get("WelcomeCode", ""))
    if change in (ContactChange.DEL_EXTERNAL, ContactChange.DEL_FOLLOW_USER):
        return ExternalContactRemoved(**base, change_type=change, user_id=user_id, external_user_id=external_user_id)
    return ExternalContactChanged(**base, change_type=change, user_id=user_id, external_user_id=external_user_id)


def _required(values: Mapping[str, str], name: str) -> str:
    value = values.get(name, "").strip()
    if not value:
        raise MalformedCallback(f"{values.get('Event') or 'the message'} without {name}")
    return value


def _int(values: Mapping[str, str], name: str, *, default: int | None = None) -> int:
    text = values.get(name, "").strip()
    if not text and default is not None:
        return default
    try:
        return int(text)
    except ValueError:
        raise MalformedCallback(f"{name} is not a number: {text[:20]!r}") from None


def _member(enum: type[_E], value: str) -> _E:
    try:
        return enum(value.strip())
    except ValueError:
        return enum("other")


def _scene(enum: type[_S], value: str | None) -> _S | None:
    if value is None or not value.strip().lstrip("-").isdigit():
        return None
    try:
        return enum(int(value))
    except ValueError:
        return None

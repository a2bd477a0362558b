"""The fake's customer contacts: members (staff), customers, 联系我 codes, welcomes.

Rules kept (WECOM.md §3): a 联系我 code's ``state`` is ≤30 characters and comes back on the add
event and on the customer's follow_user entry; the add event carries a welcome code that works
once and only within 20 s (later, or again: 41051), and none when the member had already
chatted with the customer; externalcontact/get answers 84061 for a customer no member has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tests.wecom.fake_base import (
    BAD_EXTERNAL_USERID,
    BAD_PARAM,
    NOT_CONTACT,
    WELCOME_SPENT,
    Fault,
    require,
    unix,
)

if TYPE_CHECKING:
    from tests.wecom.fake_server import FakeWeCom

WELCOME_WINDOW = timedelta(seconds=20)
FOLLOW_PAGE = 500


@dataclass
class Relation:
    userid: str
    external_userid: str
    state: str
    added: datetime
    remark: str = ""


@dataclass
class ContactWayConfig:
    config_id: str
    type: int
    scene: int
    state: str
    users: list[str]
    remark: str
    skip_verify: bool
    qr_code: str


@dataclass
class WelcomeCode:
    code: str
    userid: str
    external_userid: str
    issued: datetime
    spent: bool = False


@dataclass
class Welcome:
    userid: str
    external_userid: str
    text: str
    attachments: list[dict[str, Any]] = field(default_factory=list)


class FakeContacts:
    def __init__(self, server: FakeWeCom):
        self.server = server
        self.staff: dict[str, str] = {}
        self.customers: dict[str, str] = {}  # external_userid → name
        self.relations: dict[tuple[str, str], Relation] = {}
        self.ways: dict[str, ContactWayConfig] = {}
        self.codes: dict[str, WelcomeCode] = {}
        self.welcomes: list[Welcome] = []
        self.chatted: set[tuple[str, str]] = set()

    # --- test hooks -------------------------------------------------------------------------

    def add_staff(self, userid: str, name: str = "") -> str:
        self.staff[userid] = name or userid
        return userid

    def add_customer(self, name: str) -> str:
        external_userid = self.server.ids.next("wm")
        self.customers[external_userid] = name
        return external_userid

    async def customer_adds(self, external_userid: str, *, config_id: str = "", userid: str = "") -> str:
        """The customer adds a member — through a 联系我 code, or directly (``userid``).
        Pushes ``add_external_contact``; returns its welcome code ("" when none is offered)."""
        state = ""
        if config_id:
            way = self.ways[config_id]
            userid, state = way.users[0], way.state
        now = self.server.clock.now()
        self.relations[(userid, external_userid)] = Relation(userid, external_userid, state, now)
        code = ""
        if (userid, external_userid) not in self.chatted:
            code = self.server.ids.next("welcome-")
            self.codes[code] = WelcomeCode(code, userid, external_userid, now)
        await self.server.push("change_external_contact", {
            "ChangeType": "add_external_contact", "UserID": userid, "ExternalUserID": external_userid,
            "State": state, "WelcomeCode": code})
        return code

    def chat_started(self, userid: str, external_userid: str) -> None:
        """The member writes to the customer by hand: a pending welcome code is spent."""
        self.chatted.add((userid, external_userid))
        for code in self.codes.values():
            if (code.userid, code.external_userid) == (userid, external_userid):
                code.spent = True

    async def customer_removes(self, userid: str, external_userid: str) -> None:
        self.relations.pop((userid, external_userid), None)
        await self.server.push("change_external_contact", {
            "ChangeType": "del_follow_user", "UserID": userid, "ExternalUserID": external_userid})

    async def staff_removes(self, userid: str, external_userid: str) -> None:
        self.relations.pop((userid, external_userid), None)
        await self.server.push("change_external_contact", {
            "ChangeType": "del_external_contact", "UserID": userid, "ExternalUserID": external_userid})

    def followers(self, external_userid: str) -> list[Relation]:
        return sorted((r for r in self.relations.values() if r.external_userid == external_userid),
                      key=lambda r: r.added)

    # --- API --------------------------------------------------------------------------------

    def add_contact_way(self, body: dict[str, Any]) -> dict[str, Any]:
        way_type, scene = body.get("type"), body.get("scene")
        require(way_type in (1, 2) and scene in (1, 2), BAD_PARAM, "type and scene are 1 or 2")
        state = str(body.get("state", ""))
        require(len(state) <= 30, BAD_PARAM, "state is at most 30 characters")
        users = list(body.get("user") or [])
        require(users, BAD_PARAM, "a 联系我 code needs a member")
        require(all(u in self.staff for u in users), BAD_PARAM, "unknown member")
        require(way_type == 2 or len(users) == 1, BAD_PARAM, "type 1 takes one member")
        config_id = self.server.ids.next("cw")
        qr_code = f"https://wework.qpic.cn/fake/{config_id}.png" if scene == 2 else ""
        self.ways[config_id] = ContactWayConfig(config_id, way_type, scene, state, users,
                                                str(body.get("remark", "")), bool(body.get("skip_verify", True)),
                                                qr_code)
        return {"config_id": config_id, **({"qr_code": qr_code} if qr_code else {})}

    def get_contact_way(self, body: dict[str, Any]) -> dict[str, Any]:
        way = self._way(body)
        return {"contact_way": {"config_id": way.config_id, "type": way.type, "scene": way.scene,
                                "state": way.state, "user": way.users, "remark": way.remark,
                                "skip_verify": way.skip_verify, "qr_code": way.qr_code}}

    def update_contact_way(self, body: dict[str, Any]) -> dict[str, Any]:
        way = self._way(body)
        if "state" in body:
            require(len(str(body["state"])) <= 30, BAD_PARAM, "state is at most 30 characters")
            way.state = str(body["state"])
        if "user" in body:
            way.users = list(body["user"])
        return {}

    def del_contact_way(self, body: dict[str, Any]) -> dict[str, Any]:
        self.ways.pop(self._way(body).config_id)
        return {}

    def send_welcome_msg(self, body: dict[str, Any]) -> dict[str, Any]:
        code = self.codes.get(str(body.get("welcome_code", "")))
        now = self.server.clock.now()
        require(code is not None and not code.spent, WELCOME_SPENT, "welcome code unknown or spent")
        assert code is not None
        require(now - code.issued <= WELCOME_WINDOW, WELCOME_SPENT, "welcome code older than 20 s")
        attachments = list(body.get("attachments") or [])
        require(len(attachments) <= 9, BAD_PARAM, "at most 9 attachments")
        require(body.get("text") or attachments, BAD_PARAM, "a text or an attachment")
        self.server.media.check_attachments(attachments)
        code.spent = True
        self.welcomes.append(Welcome(code.userid, code.external_userid,
                                     str((body.get("text") or {}).get("content", "")), attachments))
        return {}

    def get(self, query: dict[str, str]) -> dict[str, Any]:
        external_userid = query.get("external_userid", "")
        if external_userid not in self.customers:
            raise Fault(BAD_EXTERNAL_USERID, "invalid external_userid")
        follows = self.followers(external_userid)
        require(follows, NOT_CONTACT, "not external contact")
        start = int(query.get("cursor") or 0)
        page = follows[start:start + FOLLOW_PAGE]
        more = start + FOLLOW_PAGE < len(follows)
        return {
            "external_contact": {"external_userid": external_userid, "name": self.customers[external_userid],
                                 "type": 1},
            "follow_user": [{"userid": r.userid, "remark": r.remark, "description": "", "createtime": unix(r.added),
                             "tags": [], "state": r.state, "add_way": 1} for r in page],
            **({"next_cursor": str(start + FOLLOW_PAGE)} if more else {}),
        }

    def _way(self, body: dict[str, Any]) -> ContactWayConfig:
        way = self.ways.get(str(body.get("config_id", "")))
        require(way is not None, BAD_PARAM, "unknown config_id")
        assert way is not None
        return way

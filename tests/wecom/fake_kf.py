"""The fake's 微信客服 (kf): accounts, links, the message stream, sessions and their window.

Rules kept (WECOM.md §6): a customer message pushes ``kf_msg_or_event`` with a Token valid
10 minutes and no content; sync_msg pages the stream from a cursor, returns only the last 3
days and never API-sent messages, and without a token is held to a much lower rate; send_msg
works only in session states 0–1, within 48 h of the customer's last message, at most 5 times
per customer message (a new one resets the count); enter_session offers a welcome code (one
message within 20 s) only when there was no contact in the last 48 h.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tests.wecom.fake_base import (
    BAD_KFID,
    BAD_PARAM,
    KF_BAD_EVENT_CODE,
    KF_BAD_TOKEN,
    KF_COUNT_USED,
    KF_NOT_API_STATE,
    KF_OUTSIDE_WINDOW,
    RATE_LIMITED,
    require,
    unix,
)

if TYPE_CHECKING:
    from tests.wecom.fake_server import FakeWeCom

WINDOW = timedelta(hours=48)
MAX_REPLIES = 5
TOKEN_LIFETIME = timedelta(minutes=10)
HISTORY = timedelta(days=3)
EVENT_CODE_LIFETIME = timedelta(seconds=20)


@dataclass
class Session:
    open_kfid: str
    external_userid: str
    last_customer_message: datetime | None = None
    replies: int = 0
    state: int = 0
    servicer: str = ""
    last_contact: datetime | None = None
    event_code: str = ""
    event_code_issued: datetime | None = None


@dataclass
class Sent:
    msgid: str
    open_kfid: str
    external_userid: str
    msgtype: str
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return str(self.body.get("content", "")) if self.msgtype == "text" else ""


class FakeKf:
    def __init__(self, server: FakeWeCom, *, untokened_syncs_per_minute: int = 3):
        self.server = server
        self.accounts: dict[str, str] = {}  # open_kfid → name
        self.sessions: dict[tuple[str, str], Session] = {}
        self.stream: list[dict[str, Any]] = []
        self.tokens: dict[str, datetime] = {}
        self.sent: list[Sent] = []
        self.untokened_syncs_per_minute = untokened_syncs_per_minute
        self._untokened: list[datetime] = []

    # --- test hooks -------------------------------------------------------------------------

    def add_account(self, name: str) -> str:
        open_kfid = self.server.ids.next("wk")
        self.accounts[open_kfid] = name
        return open_kfid

    async def customer_says(self, open_kfid: str, external_userid: str, text: str) -> str:
        return await self._customer_message(open_kfid, external_userid, "text", {"content": text})

    async def customer_sends_image(self, open_kfid: str, external_userid: str, data: bytes) -> str:
        """The customer sends a picture: WeCom keeps it as a temporary media (media/get, 3 days)."""
        media_id = str(self.server.media.upload("image", data)["media_id"])
        return await self._customer_message(open_kfid, external_userid, "image", {"media_id": media_id})

    async def _customer_message(self, open_kfid: str, external_userid: str, msgtype: str,
                                content: dict[str, Any]) -> str:
        now = self.server.clock.now()
        session = self._session(open_kfid, external_userid)
        session.last_customer_message = session.last_contact = now
        session.replies = 0
        if session.state == 4:
            session.state = 0
        msgid = self.server.ids.next("kfmsg")
        self.stream.append({"msgid": msgid, "open_kfid": open_kfid, "external_userid": external_userid,
                            "send_time": unix(now), "origin": 3, "msgtype": msgtype, msgtype: content})
        await self._notify(open_kfid)
        return msgid

    async def customer_enters(self, open_kfid: str, external_userid: str, scene_param: str = "") -> str:
        """The customer opens the kf link: an enter_session event; its welcome code ("" if none)."""
        now = self.server.clock.now()
        session = self._session(open_kfid, external_userid)
        code = ""
        if session.last_contact is None or now - session.last_contact > WINDOW:
            code = self.server.ids.next("kfwelcome-")
            session.event_code, session.event_code_issued = code, now
        event = {"event_type": "enter_session", "open_kfid": open_kfid, "external_userid": external_userid,
                 "scene": "", "scene_param": scene_param, **({"welcome_code": code} if code else {})}
        self.stream.append({"msgid": self.server.ids.next("kfevt"), "open_kfid": open_kfid,
                            "external_userid": external_userid, "send_time": unix(now), "origin": 4,
                            "msgtype": "event", "event": event})
        await self._notify(open_kfid)
        return code

    def set_state(self, open_kfid: str, external_userid: str, state: int, servicer: str = "") -> None:
        session = self._session(open_kfid, external_userid)
        session.state, session.servicer = state, servicer

    def received(self, external_userid: str) -> list[str]:
        return [s.text for s in self.sent if s.external_userid == external_userid]

    # --- API --------------------------------------------------------------------------------

    def sync_msg(self, body: dict[str, Any]) -> dict[str, Any]:
        now = self.server.clock.now()
        token = str(body.get("token", ""))
        if token:
            issued = self.tokens.get(token)
            require(issued is not None and now - issued <= TOKEN_LIFETIME, KF_BAD_TOKEN, "invalid token")
        else:
            self._untokened = [at for at in self._untokened if now - at < timedelta(minutes=1)]
            require(len(self._untokened) < self.untokened_syncs_per_minute, RATE_LIMITED,
                    "sync_msg without a token is strictly limited")
            self._untokened.append(now)
        limit = int(body.get("limit") or 1000)
        require(1 <= limit <= 1000, BAD_PARAM, "limit is 1–1000")
        open_kfid = body.get("open_kfid")
        cursor = str(body.get("cursor", ""))
        position = int(cursor[1:]) if cursor.startswith("c") and cursor[1:].isdigit() else 0
        taken: list[dict[str, Any]] = []
        while position < len(self.stream) and len(taken) < limit:
            message = self.stream[position]
            position += 1
            recent = now.timestamp() - message["send_time"] <= HISTORY.total_seconds()
            if recent and (not open_kfid or message["open_kfid"] == open_kfid):
                taken.append(message)
        return {"next_cursor": f"c{position}", "has_more": 1 if position < len(self.stream) else 0,
                "msg_list": taken}

    def send_msg(self, body: dict[str, Any]) -> dict[str, Any]:
        open_kfid, touser = str(body.get("open_kfid", "")), str(body.get("touser", ""))
        require(open_kfid in self.accounts, BAD_KFID, "invalid open_kfid")
        session = self.sessions.get((open_kfid, touser))
        now = self.server.clock.now()
        last = session.last_customer_message if session else None
        require(session is not None and last is not None and now - last <= WINDOW, KF_OUTSIDE_WINDOW,
                "no customer message in the last 48 h")
        assert session is not None
        require(session.state in (0, 1), KF_NOT_API_STATE, "the session is with a person")
        require(session.replies < MAX_REPLIES, KF_COUNT_USED, "5 messages since the customer's last")
        sent = self._deliver(body, open_kfid, touser)
        session.replies += 1
        session.last_contact = now
        return {"msgid": sent.msgid}

    def send_msg_on_event(self, body: dict[str, Any]) -> dict[str, Any]:
        code = str(body.get("code", ""))
        now = self.server.clock.now()
        session = next((s for s in self.sessions.values() if code and s.event_code == code), None)
        issued = session.event_code_issued if session else None
        require(session is not None and issued is not None and now - issued <= EVENT_CODE_LIFETIME,
                KF_BAD_EVENT_CODE, "invalid code")
        assert session is not None
        require(body.get("msgtype") in ("text", "msgmenu"), BAD_PARAM, "text or msgmenu only")
        session.event_code = ""
        session.last_contact = now
        return {"msgid": self._deliver(body, session.open_kfid, session.external_userid).msgid}

    def account_add(self, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("name", ""))
        require(name and len(name) <= 16, BAD_PARAM, "name is 1–16 characters")
        self.server.media.check(str(body.get("media_id", "")))
        return {"open_kfid": self.add_account(name)}

    def add_contact_way(self, body: dict[str, Any]) -> dict[str, Any]:
        open_kfid, scene = str(body.get("open_kfid", "")), str(body.get("scene", ""))
        require(open_kfid in self.accounts, BAD_KFID, "invalid open_kfid")
        require(len(scene.encode()) <= 32 and re.fullmatch(r"[0-9A-Za-z_-]*", scene), BAD_PARAM, "invalid scene")
        return {"url": f"https://work.weixin.qq.com/kfid/{open_kfid}" + (f"?enc_scene=ENC{scene}" if scene else "")}

    def service_state_get(self, body: dict[str, Any]) -> dict[str, Any]:
        open_kfid = str(body.get("open_kfid", ""))
        require(open_kfid in self.accounts, BAD_KFID, "invalid open_kfid")
        session = self.sessions.get((open_kfid, str(body.get("external_userid", ""))))
        state = session.state if session else 4
        return {"service_state": state, **({"servicer_userid": session.servicer} if session and state == 3 else {})}

    # --- inside -----------------------------------------------------------------------------

    def _session(self, open_kfid: str, external_userid: str) -> Session:
        return self.sessions.setdefault((open_kfid, external_userid), Session(open_kfid, external_userid))

    def _deliver(self, body: dict[str, Any], open_kfid: str, touser: str) -> Sent:
        msgtype = str(body.get("msgtype", ""))
        content = dict(body.get(msgtype) or {})
        if msgtype == "text":
            text = str(content.get("content", ""))
            require(text and len(text.encode()) <= 2048, BAD_PARAM, "text is 1–2048 bytes")
        elif "media_id" in content:
            self.server.media.check(str(content["media_id"]))
        sent = Sent(str(body.get("msgid") or self.server.ids.next("kfsent")), open_kfid, touser, msgtype, content)
        self.sent.append(sent)  # API-sent: never in the sync_msg stream
        return sent

    async def _notify(self, open_kfid: str) -> None:
        token = self.server.ids.next("kftoken")
        self.tokens[token] = self.server.clock.now()
        await self.server.push("kf_msg_or_event", {"Token": token, "OpenKfId": open_kfid}, sender="")

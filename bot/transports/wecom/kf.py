"""微信客服 (kf): the one way to answer a customer's private message automatically (WECOM.md §6).

A callback only says "there is news" (``kf_msg_or_event`` with a ``Token``); the messages are
pulled with ``sync_msg`` from a cursor the caller persists. Answers go out with ``send_msg``,
and only within 48 h of the customer's last message, at most 5 per customer message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.transports.wecom.caller import ApiCaller
from bot.transports.wecom.errors import InvalidRequest
from bot.transports.wecom.results import KfMessage, KfSync, ServiceState, check_len, check_range

MAX_KF_TEXT_BYTES = 2048
MAX_KF_NAME = 16
MAX_KF_SCENE_BYTES = 32
_SCENE = re.compile(r"[0-9A-Za-z_-]*")
_MSGID = re.compile(r"[0-9A-Za-z_-]{1,32}")


class KfApi(ApiCaller):
    async def kf_sync_msg(self, *, cursor: str = "", token: str = "", open_kfid: str = "", limit: int = 1000,
                          voice_format: int | None = None) -> KfSync:
        """The messages after ``cursor`` (the last 3 days at most). Pass the callback's ``token``:
        without it WeCom applies a much stricter rate limit."""
        check_range("limit", limit, 1, 1000)
        body: dict[str, Any] = {"limit": limit}
        for name, value in (("cursor", cursor), ("token", token), ("open_kfid", open_kfid)):
            if value:
                body[name] = value
        if voice_format is not None:
            body["voice_format"] = voice_format
        data = await self.call("kf/sync_msg", body=body, sends=False)
        return KfSync(next_cursor=str(data.get("next_cursor", "")), has_more=bool(data.get("has_more")),
                      messages=tuple(KfMessage.from_json(m) for m in data.get("msg_list") or ()))

    async def kf_send_msg(self, *, touser: str, open_kfid: str, msgtype: str, content: Mapping[str, Any],
                          msgid: str = "") -> str:
        """Sends one message (``content`` is the body under ``msgtype``); returns its msgid.
        ``msgid`` (≤32 of ``[0-9A-Za-z_-]``) lets the caller name the message, e.g. by outbox row."""
        body = {"touser": touser, "open_kfid": open_kfid, **_typed(msgtype, content, msgid)}
        data = await self.call("kf/send_msg", body=body, sends=True)
        return str(data.get("msgid", msgid))

    async def kf_send_text(self, *, touser: str, open_kfid: str, text: str, msgid: str = "") -> str:
        return await self.kf_send_msg(touser=touser, open_kfid=open_kfid, msgtype="text",
                                      content={"content": text}, msgid=msgid)

    async def kf_send_msg_on_event(self, *, code: str, msgtype: str, content: Mapping[str, Any],
                                   msgid: str = "") -> str:
        """The answer to an event's ``welcome_code`` (enter_session): one text or menu, within 20 s."""
        data = await self.call("kf/send_msg_on_event", body={"code": code, **_typed(msgtype, content, msgid)},
                               sends=True)
        return str(data.get("msgid", msgid))

    async def kf_add_account(self, *, name: str, media_id: str) -> str:
        """A customer-service account (name ≤16 characters, avatar as a media id); its open_kfid."""
        check_len("name", name, MAX_KF_NAME)
        data = await self.call("kf/account/add", body={"name": name, "media_id": media_id}, sends=True)
        return str(data.get("open_kfid", ""))

    async def kf_add_contact_way(self, open_kfid: str, *, scene: str = "") -> str:
        """The account's link. With ``scene``, ``&scene_param=…`` (≤128 bytes, URL-encoded) may be
        appended and comes back in the enter_session event."""
        check_len("scene", scene, MAX_KF_SCENE_BYTES, unit="bytes")
        if not _SCENE.fullmatch(scene):
            raise InvalidRequest("a kf scene takes only letters, digits, _ and -")
        data = await self.call("kf/add_contact_way",
                               body={"open_kfid": open_kfid, **({"scene": scene} if scene else {})}, sends=True)
        return str(data.get("url", ""))

    async def kf_service_state(self, open_kfid: str, external_userid: str) -> ServiceState:
        """Whether the API may answer (states 0 and 1) or a person has the conversation."""
        data = await self.call("kf/service_state/get",
                               body={"open_kfid": open_kfid, "external_userid": external_userid}, sends=False)
        return ServiceState(state=int(data.get("service_state") or 0),
                            servicer_userid=str(data.get("servicer_userid", "")))


def _typed(msgtype: str, content: Mapping[str, Any], msgid: str) -> dict[str, Any]:
    if msgtype == "text":
        check_len("text", str(content.get("content", "")), MAX_KF_TEXT_BYTES, unit="bytes")
        if not content.get("content"):
            raise InvalidRequest("an empty text cannot be sent")
    if msgid and not _MSGID.fullmatch(msgid):
        raise InvalidRequest("a kf msgid takes 1–32 letters, digits, _ and -")
    return {"msgtype": msgtype, msgtype: dict(content), **({"msgid": msgid} if msgid else {})}

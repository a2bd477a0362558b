"""Group messages (企业群发) and temporary media (WECOM.md §5).

A group message is a *task*: ``add_msg_template`` proposes it, a staff member confirms it in
the WeCom client, and only then does anything reach customers. Its progress is read back with
``get_groupmsg_task`` (per member) and ``get_groupmsg_send_result`` (per customer or group;
status 3 = the recipient's monthly share is used up — do not retry).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import aiohttp

from bot.transports.wecom.caller import ApiCaller
from bot.transports.wecom.clocks import unix
from bot.transports.wecom.contacts import message_body
from bot.transports.wecom.errors import InvalidRequest
from bot.transports.wecom.results import (
    Attachment,
    ChatType,
    GroupMsg,
    GroupMsgTask,
    MediaType,
    MediaUpload,
    MsgTemplateResult,
    Page,
    SendResult,
    check_count,
    check_len,
    check_range,
    parse_time,
)

MAX_CHATS_PER_TEMPLATE = 2000
MAX_TEMPLATE_TEXT_BYTES = 4000  # text.content: 最多4000个字节 (document 92135)


class GroupMsgApi(ApiCaller):
    async def add_msg_template(
        self,
        *,
        chat_type: ChatType | str,
        sender: str = "",
        external_userids: Sequence[str] = (),
        chat_ids: Sequence[str] = (),
        text: str | None = None,
        attachments: Sequence[Attachment] = (),
        allow_select: bool | None = None,
        tag_filter: Mapping[str, Any] | None = None,
    ) -> MsgTemplateResult:
        """Proposes a group message; ``sender`` (the member who must confirm it) is required
        for groups. Returns the ``msgid`` to follow it by and the recipients refused at once."""
        chat_type = ChatType(chat_type)
        if chat_type is ChatType.GROUP and not sender:
            raise InvalidRequest("a group message to customer groups needs its sender (the member who confirms)")
        check_count("chat_id_list", chat_ids, MAX_CHATS_PER_TEMPLATE)
        check_len("text", text or "", MAX_TEMPLATE_TEXT_BYTES, unit="bytes")
        body: dict[str, Any] = {"chat_type": chat_type.value, **message_body(text, attachments)}
        for name, value in (("sender", sender), ("external_userid", list(external_userids)),
                            ("chat_id_list", list(chat_ids)), ("tag_filter", tag_filter)):
            if value:
                body[name] = value
        if allow_select is not None:
            body["allow_select"] = allow_select
        data = await self.call("externalcontact/add_msg_template", body=body, sends=True)
        return MsgTemplateResult(msgid=str(data.get("msgid", "")), fail_list=tuple(data.get("fail_list") or ()))

    async def get_groupmsg_list_v2(self, *, chat_type: ChatType | str, start: datetime, end: datetime,
                                   creator: str = "", filter_type: int = 2, limit: int = 100,
                                   cursor: str = "") -> Page[GroupMsg]:
        body: dict[str, Any] = {"chat_type": ChatType(chat_type).value, "start_time": unix(start),
                                "end_time": unix(end), "filter_type": filter_type, "limit": limit,
                                **({"creator": creator} if creator else {}), **({"cursor": cursor} if cursor else {})}
        data = await self.call("externalcontact/get_groupmsg_list_v2", body=body, sends=False)
        msgs = tuple(
            GroupMsg(msgid=m.get("msgid", ""), creator=m.get("creator", ""), created=parse_time(m.get("create_time")),
                     create_type=int(m.get("create_type") or 0), text=(m.get("text") or {}).get("content", ""),
                     attachments=tuple(m.get("attachments") or ()))
            for m in data.get("group_msg_list") or ()
        )
        return Page(items=msgs, next_cursor=data.get("next_cursor", ""))

    async def get_groupmsg_task(self, msgid: str, *, limit: int = 1000, cursor: str = "") -> Page[GroupMsgTask]:
        """Per member: 0 not yet confirmed, 2 sent."""
        check_range("limit", limit, 1, 1000)
        body = {"msgid": msgid, "limit": limit, **({"cursor": cursor} if cursor else {})}
        data = await self.call("externalcontact/get_groupmsg_task", body=body, sends=False)
        tasks = tuple(GroupMsgTask(userid=t.get("userid", ""), status=int(t.get("status") or 0),
                                   sent=parse_time(t.get("send_time"))) for t in data.get("task_list") or ())
        return Page(items=tasks, next_cursor=data.get("next_cursor", ""))

    async def get_groupmsg_send_result(self, msgid: str, userid: str, *, limit: int = 1000,
                                       cursor: str = "") -> Page[SendResult]:
        """Per customer or group of ``userid``'s task: 0 not sent, 1 sent, 2 not a contact,
        3 the recipient's share of group messages is used up."""
        check_range("limit", limit, 1, 1000)
        body = {"msgid": msgid, "userid": userid, "limit": limit, **({"cursor": cursor} if cursor else {})}
        data = await self.call("externalcontact/get_groupmsg_send_result", body=body, sends=False)
        results = tuple(
            SendResult(external_userid=r.get("external_userid", ""), chat_id=r.get("chat_id", ""),
                       userid=r.get("userid", ""), status=int(r.get("status") or 0),
                       sent=parse_time(r.get("send_time")))
            for r in data.get("send_list") or ()
        )
        return Page(items=results, next_cursor=data.get("next_cursor", ""))

    async def remind_groupmsg_send(self, msgid: str) -> None:
        """Reminds the members who have not confirmed (at most 3 times a task per 24 h)."""
        await self.call("externalcontact/remind_groupmsg_send", body={"msgid": msgid}, sends=True)

    async def cancel_groupmsg_send(self, msgid: str) -> None:
        """Stops a task: members can no longer confirm it."""
        await self.call("externalcontact/cancel_groupmsg_send", body={"msgid": msgid}, sends=True)

    async def upload_media(self, kind: MediaType | str, filename: str, data: bytes, *,
                           content_type: str = "application/octet-stream") -> MediaUpload:
        """A temporary media id for attachments, kf images and avatars: valid 3 days."""
        kind = MediaType(kind)
        if not data:
            raise InvalidRequest("an empty file cannot be uploaded")

        def form() -> aiohttp.FormData:  # a fresh form per try: aiohttp consumes it when sending
            built = aiohttp.FormData()
            built.add_field("media", data, filename=filename, content_type=content_type)
            return built

        answer = await self.call("media/upload", params={"type": kind.value}, form=form, sends=True)
        return MediaUpload(type=str(answer.get("type", kind.value)), media_id=str(answer.get("media_id", "")),
                           created=parse_time(answer.get("created_at")))

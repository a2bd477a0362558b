"""Customer contact (客户联系) calls: 联系我 codes, welcomes, contact details (WECOM.md §3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.transports.wecom.caller import ApiCaller
from bot.transports.wecom.errors import InvalidRequest
from bot.transports.wecom.results import Attachment, ContactWay, ExternalContact, check_count, check_len

MAX_STATE = 30  # characters, for 联系我 codes and join ways alike
MAX_ATTACHMENTS = 9


def message_body(text: str | None, attachments: Sequence[Attachment]) -> dict[str, Any]:
    """``text`` and ``attachments`` as welcome and group messages take them."""
    check_count("attachments", attachments, MAX_ATTACHMENTS)
    if not text and not attachments:
        raise InvalidRequest("a message needs a text or an attachment")
    body: dict[str, Any] = {}
    if text:
        body["text"] = {"content": text}
    if attachments:
        body["attachments"] = [attachment.to_json() for attachment in attachments]
    return body


class ContactsApi(ApiCaller):
    async def add_contact_way(
        self,
        *,
        state: str,
        users: Sequence[str] = (),
        parties: Sequence[int] = (),
        type: int = 1,  # 1 one member, 2 several
        scene: int = 2,  # 1 mini-program, 2 QR code
        remark: str = "",
        skip_verify: bool = True,
        style: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> ContactWay:
        """A 联系我 code whose adds carry ``state`` (e.g. a distributor's code). Keep the
        ``config_id``: codes made through the API are not listed in the admin console."""
        check_len("state", state, MAX_STATE)
        check_len("remark", remark, 30)
        if not users and not parties:
            raise InvalidRequest("a 联系我 code needs at least one member or department")
        if type == 1 and (len(users) != 1 or parties):
            raise InvalidRequest("a single-member 联系我 code (type 1) takes exactly one member")
        body: dict[str, Any] = {"type": type, "scene": scene, "state": state, "skip_verify": skip_verify,
                                "user": list(users), **({"party": list(parties)} if parties else {}),
                                **({"remark": remark} if remark else {}), **({"style": style} if style else {}),
                                **(options or {})}
        data = await self.call("externalcontact/add_contact_way", body=body, sends=True)
        return ContactWay(config_id=data.get("config_id", ""), qr_code=data.get("qr_code", ""), state=state,
                          users=tuple(users), raw=data)

    async def get_contact_way(self, config_id: str) -> ContactWay:
        data = await self.call("externalcontact/get_contact_way", body={"config_id": config_id}, sends=False)
        return ContactWay.from_json(data.get("contact_way") or {})

    async def update_contact_way(self, config_id: str, **fields: Any) -> None:
        """Change a code's ``state``, ``user``, ``remark``, ``skip_verify``… (WeCom's names)."""
        if "state" in fields:
            check_len("state", str(fields["state"]), MAX_STATE)
        await self.call("externalcontact/update_contact_way", body={"config_id": config_id, **fields}, sends=True)

    async def del_contact_way(self, config_id: str) -> None:
        await self.call("externalcontact/del_contact_way", body={"config_id": config_id}, sends=True)

    async def send_welcome_msg(self, welcome_code: str, *, text: str | None = None,
                               attachments: Sequence[Attachment] = ()) -> None:
        """The welcome to a new contact: within 20 s of the add event, once (41051 after)."""
        body = {"welcome_code": welcome_code, **message_body(text, attachments)}
        await self.call("externalcontact/send_welcome_msg", body=body, sends=True)

    async def get_external_contact(self, external_userid: str, *, cursor: str = "") -> ExternalContact:
        """A customer and the members following them (paged by ``cursor`` past 500)."""
        params = {"external_userid": external_userid, **({"cursor": cursor} if cursor else {})}
        data = await self.call("externalcontact/get", params=params, method="GET", sends=False)
        return ExternalContact.from_json(data)

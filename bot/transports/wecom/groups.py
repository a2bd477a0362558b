"""Customer groups (客户群) and their join ways (加入群聊) (WECOM.md §4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.transports.wecom.caller import ApiCaller
from bot.transports.wecom.contacts import MAX_STATE
from bot.transports.wecom.results import (
    GroupChat,
    GroupChatRef,
    JoinWay,
    Page,
    check_count,
    check_len,
    check_range,
)

MAX_JOIN_WAY_CHATS = 5
MAX_ROOM_BASE_NAME = 40


class GroupsApi(ApiCaller):
    async def list_group_chats(self, *, owners: Sequence[str] = (), status_filter: int = 0, cursor: str = "",
                               limit: int = 1000) -> Page[GroupChatRef]:
        """Customer groups, by owner (without ``owners`` WeCom refuses (81017) once more than
        1000 members are visible)."""
        check_range("limit", limit, 1, 1000)
        body: dict[str, Any] = {"status_filter": status_filter, "limit": limit,
                                **({"cursor": cursor} if cursor else {}),
                                **({"owner_filter": {"userid_list": list(owners)}} if owners else {})}
        data = await self.call("externalcontact/groupchat/list", body=body, sends=False)
        refs = tuple(GroupChatRef(chat_id=c.get("chat_id", ""), status=int(c.get("status") or 0))
                     for c in data.get("group_chat_list") or ())
        return Page(items=refs, next_cursor=data.get("next_cursor", ""))

    async def get_group_chat(self, chat_id: str, *, need_name: bool = True) -> GroupChat:
        """A group with its members (each with the join way ``state`` they came through)."""
        body = {"chat_id": chat_id, "need_name": 1 if need_name else 0}
        return GroupChat.from_json(await self.call("externalcontact/groupchat/get", body=body, sends=False))

    async def add_join_way(self, *, chat_ids: Sequence[str], state: str = "", scene: int = 2, remark: str = "",
                           auto_create_room: bool = True, room_base_name: str = "", room_base_id: int | None = None,
                           mark_source: bool | None = None) -> str:
        """A join code for up to 5 groups; with ``auto_create_room`` WeCom opens a new group
        ("room_base_name + room_base_id", then +1…) when they are full. Returns the config_id."""
        body = _join_way_body(chat_ids, state, scene, remark, auto_create_room, room_base_name, room_base_id,
                              mark_source)
        data = await self.call("externalcontact/groupchat/add_join_way", body=body, sends=True)
        return str(data.get("config_id", ""))

    async def get_join_way(self, config_id: str) -> JoinWay:
        data = await self.call("externalcontact/groupchat/get_join_way", body={"config_id": config_id}, sends=False)
        return JoinWay.from_json(data)

    async def update_join_way(self, config_id: str, *, chat_ids: Sequence[str], state: str = "", scene: int = 2,
                              remark: str = "", auto_create_room: bool = True, room_base_name: str = "",
                              room_base_id: int | None = None, mark_source: bool | None = None) -> None:
        """Replaces the whole configuration (WeCom's update is not a patch)."""
        body = {"config_id": config_id, **_join_way_body(chat_ids, state, scene, remark, auto_create_room,
                                                           room_base_name, room_base_id, mark_source)}
        await self.call("externalcontact/groupchat/update_join_way", body=body, sends=True)

    async def del_join_way(self, config_id: str) -> None:
        await self.call("externalcontact/groupchat/del_join_way", body={"config_id": config_id}, sends=True)


def _join_way_body(chat_ids: Sequence[str], state: str, scene: int, remark: str, auto_create_room: bool,
                   room_base_name: str, room_base_id: int | None, mark_source: bool | None) -> dict[str, Any]:
    check_count("chat_id_list", chat_ids, MAX_JOIN_WAY_CHATS, at_least=1)
    check_len("state", state, MAX_STATE)
    check_len("remark", remark, 30)
    check_len("room_base_name", room_base_name, MAX_ROOM_BASE_NAME)
    body: dict[str, Any] = {"scene": scene, "chat_id_list": list(chat_ids),
                            "auto_create_room": 1 if auto_create_room else 0}
    for name, value in (("state", state), ("remark", remark), ("room_base_name", room_base_name)):
        if value:
            body[name] = value
    if room_base_id is not None:
        body["room_base_id"] = room_base_id
    if mark_source is not None:
        body["mark_source"] = mark_source
    return body

"""The fake's customer groups and join ways.

Rules kept (WECOM.md §4): a join way serves 1–5 groups (``chat_id_list``) with a ``state`` of
≤30 characters that members who join through it carry in groupchat/get; a QR join fills a group
at 200 members (a member's direct invite at 500); when every group of the way is full and
``auto_create_room`` is on, WeCom opens a new group named ``room_base_name + room_base_id``
(then +1…) with the first group's owner, and the way uses it from then on (the oldest full group
leaves the list if it would exceed 5 — the fake's choice, UNVERIFIED). Member changes push
``change_external_chat`` with ``MemChangeList``; groupchat/list without ``owner_filter`` answers
81017 when more than 1000 members are visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tests.wecom.fake_base import BAD_PARAM, NEEDS_OWNER_FILTER, require, unix

if TYPE_CHECKING:
    from tests.wecom.fake_server import FakeWeCom

QR_LIMIT = 200
MAX_MEMBERS = 500
MAX_WAY_CHATS = 5


class GroupFull(Exception):
    """Every group of a join way is full and it may not create one: the scan fails."""


@dataclass
class Member:
    userid: str
    type: int  # 1 staff, 2 external
    joined: datetime
    join_scene: int  # 1 direct invite, 2 link, 3 QR code
    invitor: str = ""
    state: str = ""


@dataclass
class Group:
    chat_id: str
    name: str
    owner: str
    created: datetime
    notice: str = ""
    members: dict[str, Member] = field(default_factory=dict)
    version: int = 1
    dismissed: bool = False


@dataclass
class JoinWayConfig:
    config_id: str
    scene: int
    remark: str
    auto_create_room: int
    room_base_name: str
    room_base_id: int
    chat_ids: list[str]
    state: str
    rooms_created: int = 0

    @property
    def qr_code(self) -> str:
        return f"https://wework.qpic.cn/fake/join/{self.config_id}.png" if self.scene == 2 else ""


class FakeGroups:
    def __init__(self, server: FakeWeCom):
        self.server = server
        self.groups: dict[str, Group] = {}
        self.ways: dict[str, JoinWayConfig] = {}
        self.visible_staff = 0  # members the app sees besides the registered staff (for 81017)

    # --- test hooks -------------------------------------------------------------------------

    async def create_group(self, owner: str, name: str, members: tuple[str, ...] = ()) -> str:
        chat_id = self.server.ids.next("wr")
        now = self.server.clock.now()
        group = Group(chat_id, name, owner, now)
        group.members[owner] = Member(owner, 1, now, 1)
        for userid in members:
            group.members[userid] = self._member(userid, 1, owner)
        self.groups[chat_id] = group
        await self.server.push("change_external_chat", {"ChatId": chat_id, "ChangeType": "create"})
        return chat_id

    async def customer_scans(self, config_id: str, external_userid: str) -> str:
        """A customer scans the join way's code: the group they land in (rolled over if needed)."""
        way = self.ways[config_id]
        target = next((self.groups[c] for c in way.chat_ids if self._open(self.groups[c], QR_LIMIT)), None)
        if target is None:
            if not way.auto_create_room:
                raise GroupFull(config_id)
            target = await self._roll_over(way)
        await self._join(target, [self._member(external_userid, 3, "", way.state)], join_scene=3)
        return target.chat_id

    async def invite(self, chat_id: str, userids: list[str], invitor: str) -> None:
        group = self.groups[chat_id]
        if len(group.members) + len(userids) > MAX_MEMBERS:
            raise GroupFull(chat_id)
        await self._join(group, [self._member(u, 1, invitor) for u in userids], join_scene=0)

    async def leave(self, chat_id: str, userid: str, *, removed: bool = False) -> None:
        group = self.groups[chat_id]
        group.members.pop(userid)
        group.version += 1
        await self.server.push("change_external_chat", {
            "ChatId": chat_id, "ChangeType": "update", "UpdateDetail": "del_member",
            "QuitScene": "1" if removed else "0", "MemChangeCnt": "1",
            "LastMemVer": str(group.version - 1), "CurMemVer": str(group.version)},
            lists={"MemChangeList": [userid]})

    def members(self, chat_id: str) -> list[str]:
        return list(self.groups[chat_id].members)

    def owned_by(self, userid: str) -> list[str]:
        return [g.chat_id for g in self.groups.values() if g.owner == userid and not g.dismissed]

    # --- API --------------------------------------------------------------------------------

    def list(self, body: dict[str, Any]) -> dict[str, Any]:
        limit = int(body.get("limit") or 0)
        require(1 <= limit <= 1000, BAD_PARAM, "limit is 1–1000")
        owners = (body.get("owner_filter") or {}).get("userid_list") or []
        visible = len(self.server.contacts.staff) + self.visible_staff
        require(owners or visible <= 1000, NEEDS_OWNER_FILTER, "owner_filter is required")
        chats = [g for g in self.groups.values() if not owners or g.owner in owners]
        start = int(body.get("cursor") or 0)
        page = chats[start:start + limit]
        more = start + limit < len(chats)
        return {"group_chat_list": [{"chat_id": g.chat_id, "status": 0} for g in page],
                **({"next_cursor": str(start + limit)} if more else {})}

    def get(self, body: dict[str, Any]) -> dict[str, Any]:
        group = self.groups.get(str(body.get("chat_id", "")))
        require(group is not None and not group.dismissed, BAD_PARAM, "unknown chat_id")
        assert group is not None
        names = bool(body.get("need_name"))
        members = []
        for m in group.members.values():
            entry: dict[str, Any] = {"userid": m.userid, "type": m.type, "join_time": unix(m.joined),
                                     "join_scene": m.join_scene, "group_nickname": ""}
            if m.invitor:
                entry["invitor"] = {"userid": m.invitor}
            if m.state:
                entry["state"] = m.state
            if names:
                entry["name"] = self.server.contacts.customers.get(m.userid) or self.server.contacts.staff.get(
                    m.userid, m.userid)
            members.append(entry)
        return {"group_chat": {"chat_id": group.chat_id, "name": group.name, "owner": group.owner,
                               "create_time": unix(group.created), "notice": group.notice, "member_list": members,
                               "admin_list": [], "member_version": str(group.version)}}

    def add_join_way(self, body: dict[str, Any]) -> dict[str, Any]:
        config_id = self.server.ids.next("jw")
        self.ways[config_id] = self._configure(config_id, body)
        return {"config_id": config_id}

    def get_join_way(self, body: dict[str, Any]) -> dict[str, Any]:
        way = self._way(body)
        return {"join_way": {"config_id": way.config_id, "scene": way.scene, "remark": way.remark,
                             "auto_create_room": way.auto_create_room, "room_base_name": way.room_base_name,
                             "room_base_id": way.room_base_id, "chat_id_list": list(way.chat_ids),
                             "qr_code": way.qr_code, "state": way.state}}

    def update_join_way(self, body: dict[str, Any]) -> dict[str, Any]:
        way = self._way(body)
        updated = self._configure(way.config_id, body)
        updated.rooms_created = way.rooms_created
        self.ways[way.config_id] = updated
        return {}

    def del_join_way(self, body: dict[str, Any]) -> dict[str, Any]:
        self.ways.pop(self._way(body).config_id)
        return {}

    # --- inside -----------------------------------------------------------------------------

    def _configure(self, config_id: str, body: dict[str, Any]) -> JoinWayConfig:
        chat_ids = list(body.get("chat_id_list") or [])
        require(1 <= len(chat_ids) <= MAX_WAY_CHATS, BAD_PARAM, "chat_id_list takes 1–5 groups")
        require(all(c in self.groups for c in chat_ids), BAD_PARAM, "unknown chat_id")
        require(body.get("scene") in (1, 2), BAD_PARAM, "scene is 1 or 2")
        state = str(body.get("state", ""))
        require(len(state) <= 30, BAD_PARAM, "state is at most 30 characters")
        base_name = str(body.get("room_base_name", ""))
        require(len(base_name) <= 40, BAD_PARAM, "room_base_name is at most 40 characters")
        auto = int(body.get("auto_create_room", 1))
        return JoinWayConfig(config_id, int(body["scene"]), str(body.get("remark", "")), auto, base_name,
                             int(body.get("room_base_id") or 1), chat_ids, state)

    def _way(self, body: dict[str, Any]) -> JoinWayConfig:
        way = self.ways.get(str(body.get("config_id", "")))
        require(way is not None, BAD_PARAM, "unknown config_id")
        assert way is not None
        return way

    def _open(self, group: Group, limit: int) -> bool:
        return not group.dismissed and len(group.members) < limit

    async def _roll_over(self, way: JoinWayConfig) -> Group:
        owner = self.groups[way.chat_ids[0]].owner
        name = f"{way.room_base_name}{way.room_base_id + way.rooms_created}"
        way.rooms_created += 1
        chat_id = await self.create_group(owner, name)
        if len(way.chat_ids) >= MAX_WAY_CHATS:
            way.chat_ids.pop(0)
        way.chat_ids.append(chat_id)
        return self.groups[chat_id]

    def _member(self, userid: str, join_scene: int, invitor: str, state: str = "") -> Member:
        kind = 1 if userid in self.server.contacts.staff else 2
        return Member(userid, kind, self.server.clock.now(), join_scene, invitor, state)

    async def _join(self, group: Group, members: list[Member], *, join_scene: int) -> None:
        for member in members:
            group.members[member.userid] = member
        group.version += 1
        await self.server.push("change_external_chat", {
            "ChatId": group.chat_id, "ChangeType": "update", "UpdateDetail": "add_member",
            "JoinScene": str(join_scene), "MemChangeCnt": str(len(members)),
            "LastMemVer": str(group.version - 1), "CurMemVer": str(group.version)},
            lists={"MemChangeList": [m.userid for m in members]})

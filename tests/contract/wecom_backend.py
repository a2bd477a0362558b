"""The contract suite's harness for the ``wecom`` transport: the fake WeCom server is the far
side. The same small world: the helper (a member, ``helper``); 王妈妈, 李爸爸 and 张老师 as its
external contacts, each having written to 微信客服 once (so its window is open); ``room-xh`` a
customer group the helper owns, with 王妈妈 in it.

Where WeCom differs, the far side does what a person does there: a group post arrives once the
member confirms the task in the client (``texts_to`` confirms what is pending, as staff would);
people write privately through 微信客服; group chats cannot be read, so a message said in a
group is not a case for this backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from bot.base.context import FixedClock
from bot.transports.wecom_transport import WeComTransport
from tests.contract.backends import PEOPLE, TOPIC, Arrived
from tests.wechaty.support import ROOM, Sink
from tests.wecom.conftest import START
from tests.wecom.fake_contacts import Relation
from tests.wecom.fake_groups import Group, Member
from tests.wecom.fake_server import FakeWeCom
from tests.wecom.transport_support import HELPER, Wired, wired


class WeComBackend:
    can_disconnect = False  # plain HTTPS calls: there is no standing link to lose

    def __init__(self, tmp_path: Path) -> None:
        self._tmp_path = tmp_path
        self._stack = AsyncExitStack()
        self.clock = FixedClock(START)
        self._wired: Wired | None = None
        self.sink = Sink()

    @property
    def transport(self) -> WeComTransport:
        assert self._wired is not None
        return self._wired.transport

    @property
    def fake(self) -> FakeWeCom:
        assert self._wired is not None
        return self._wired.fake

    async def start(self) -> None:
        self._wired = await self._stack.enter_async_context(wired(self.clock, self._tmp_path))
        now = self.clock.now()
        for contact, name in PEOPLE.items():
            self.fake.contacts.customers[contact] = name
            self.fake.contacts.relations[(HELPER, contact)] = Relation(HELPER, contact, "", now)
        self.make_room(ROOM, ["c1"])
        self.fake.groups.groups[ROOM].name = TOPIC
        for contact in PEOPLE:  # each has written once: their 微信客服 window is open
            await self.fake.kf.customer_says(self._wired.open_kfid, contact, "你好")
        await self._wired.sink.wait_for(len(PEOPLE))
        self._wired.sink.events.clear()
        self.sink = self._wired.sink

    async def person_says(
        self, sender: str, text: str, *, room: str | None = None, mention_helper: bool = False
    ) -> None:
        if room is not None:
            pytest.skip("WeCom's APIs do not read what people say in customer groups")
        assert self._wired is not None
        await self.fake.kf.customer_says(self._wired.open_kfid, sender, text)

    async def person_sends_image(self, sender: str, data: bytes) -> str:
        assert self._wired is not None
        kf = self.fake.kf
        kf._session(self._wired.open_kfid, sender).last_customer_message = self.clock.now()
        msgid = self.fake.ids.next("kfmsg")
        kf.stream.append({"msgid": msgid, "open_kfid": self._wired.open_kfid, "external_userid": sender,
                          "send_time": int(self.clock.now().timestamp()), "origin": 3, "msgtype": "image",
                          "image": {"media_id": self.fake.media.upload("image", data)["media_id"]}})
        await kf._notify(self._wired.open_kfid)
        return msgid

    def _confirm_pending(self, room: str) -> None:
        """The member confirms, in the client, every task still waiting that goes to ``room``."""
        for template in self.fake.groupmsg.templates.values():
            task = template.tasks.get(HELPER)
            if task and task.status == 0 and not template.cancelled and any(r.chat_id == room for r in task.recipients):
                self.fake.groupmsg.confirm(template.msgid, HELPER)

    def texts_to(self, target: str, *, room: bool) -> list[Arrived]:
        if room:
            self._confirm_pending(target)
            return [Arrived(text) for text in self.fake.groupmsg.received(target) if text]
        return [Arrived(text) for text in self.fake.kf.received(target)]

    def images_to(self, target: str, *, room: bool) -> int:
        if not room:
            return sum(s.external_userid == target and s.msgtype == "image" for s in self.fake.kf.sent)
        self._confirm_pending(target)
        templates = self.fake.groupmsg.templates
        return sum(
            d.to == target and any(a.get("msgtype") == "image" for a in templates[d.msgid].attachments)
            for d in self.fake.groupmsg.deliveries
        )

    def make_room(self, room: str, members: Sequence[str]) -> None:
        now = self.clock.now()
        group = Group(room, room, HELPER, now)
        group.members[HELPER] = Member(HELPER, 1, now, 1)
        for contact in members:
            self.fake.contacts.customers.setdefault(contact, PEOPLE.get(contact, contact))
            group.members[contact] = Member(contact, 2, now, 1, invitor=HELPER)
        self.fake.groups.groups[room] = group

    def in_room(self, room: str, contact: str) -> bool:
        return contact in self.fake.groups.groups[room].members

    async def people_join(self, room: str, contacts: Sequence[str], *, named: Sequence[str]) -> None:
        group = self.fake.groups.groups[room]
        now = self.clock.now()
        for contact in contacts:  # those the event will not name join quietly first, as merged events do
            if contact not in named:
                group.members[contact] = Member(contact, 2, now, 1, invitor="c1")
        await self.fake.groups.invite(room, list(named), invitor="c1")

    def invited(self, room: str, contact: str) -> bool:
        return False  # WeCom has no invitation cards: people join by the group's code

    async def friend_request(self, contact: str, name: str, hello: str) -> str:
        raise NotImplementedError("WeCom has no friend requests")

    def befriended(self, contact: str) -> bool:
        return (HELPER, contact) in self.fake.contacts.relations

    async def invite_helper(self, inviter: str, topic: str) -> tuple[str, str]:
        raise NotImplementedError("WeCom cannot take the helper into someone's group")

    def helper_in(self, room: str) -> bool:
        return HELPER in self.fake.groups.groups[room].members

    async def disconnect(self) -> None:
        raise NotImplementedError("the wecom transport has no standing link")

    async def reconnect(self) -> None:
        raise NotImplementedError("the wecom transport has no standing link")

    async def close(self) -> None:
        await self._stack.aclose()


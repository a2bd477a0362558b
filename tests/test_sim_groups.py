"""What the README tells a person to do in WeChat, done through the simulator: create their
own group, pull friends in (directly while small, an invitation card above 40 members) and
invite the helper (which only the bot can accept)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.base.transport import RoomInvitation, RoomJoin
from tests.sim_support import Sim, running_sim


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[Sim]:
    async with running_sim(tmp_path) as running:
        yield running


async def own_group(sim: Sim, *members: str) -> str:
    status, created = await sim.post(
        "/sim/rooms", {"owner": "wx-lina", "topic": "李娜的家长群", "members": list(members)}
    )
    assert status == 201, created
    return created["room"]


async def test_a_person_creates_a_group_pulls_a_friend_in_and_invites_the_helper(sim: Sim) -> None:
    room = await own_group(sim)

    status, body = await sim.post(
        f"/sim/rooms/{room}/members", {"from": "wx-lina", "contacts": ["wx-zhangwei", "helper"]}
    )

    assert status == 202
    assert (body["joined"], body["invited"], body["member_count"]) == (["wx-zhangwei"], ["helper"], 2)
    [event] = sim.events  # the bot is not in the group yet: it hears only of its invitation
    assert isinstance(event, RoomInvitation)
    assert (event.room, event.topic, event.inviter, event.member_count) == (room, "李娜的家长群", "wx-lina", 2)
    await sim.transport.accept_room_invitation(event.id)
    assert (await sim.get(f"/sim/rooms/{room}"))["helper_in"] is True


async def test_above_forty_members_the_people_pulled_in_get_an_invitation_to_accept(sim: Sim) -> None:
    parents = [{"id": f"wx-p{i}", "name": f"家长{i}"} for i in range(40)]
    room = await own_group(sim)
    await sim.post(f"/sim/rooms/{room}/join", {"contacts": parents, "inviter": "wx-lina"})  # 41 members

    status, body = await sim.post(f"/sim/rooms/{room}/members", {"from": "wx-lina", "contacts": ["wx-zhangwei"]})

    assert (status, body["joined"], body["invited"]) == (202, [], ["wx-zhangwei"])
    [card] = (await sim.get("/sim/contacts/wx-zhangwei/messages"))["invitations"]
    assert (card["topic"], card["inviter_name"], card["state"]) == ("李娜的家长群", "李娜", "pending")


async def test_only_a_member_pulls_people_in_and_the_helper_is_never_put_in_a_group_directly(sim: Sim) -> None:
    room = await own_group(sim, "wx-zhangwei")

    status, answer = await sim.post(f"/sim/rooms/{room}/members", {"from": "wx-linxiao", "contacts": ["wx-zhangwei"]})
    assert (status, answer["reason"]) == (422, "林晓（wx-linxiao）不在群「李娜的家长群」里，不能拉人进群")
    status, answer = await sim.post(f"/sim/rooms/{room}/members", {"from": "wx-lina", "contacts": ["wx-zhangwei"]})
    assert (status, answer["reason"]) == (422, "张伟（wx-zhangwei）已经在群「李娜的家长群」里了")
    status, answer = await sim.post("/sim/rooms", {"owner": "wx-lina", "topic": "带小助手的群", "members": ["helper"]})
    assert status == 422 and answer["reason"].startswith("the helper joins a group by accepting an invitation")
    assert not [e for e in sim.events if isinstance(e, (RoomJoin, RoomInvitation))]

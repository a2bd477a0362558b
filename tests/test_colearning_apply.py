"""Applying for co-learning (共学营): a distributor asks, invites the helper into their group,
ops approve (the helper accepts, the group is enrolled) or reject (the distributor is told
why); people who are not distributors get a clear answer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.base.transport import RoomInvitation, RoomJoin, RoomLeave
from models import ColearningApplication, RoomInvitationRecord
from tests.colearning_support import colearning_client, dispatch, outbox, said
from tests.fakes import FakeTransport
from tests.support import START, TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def client(services):
    async with colearning_client(services) as test_client:
        yield test_client


def invited(invitation: str, room: str, inviter: str, topic: str = "李娜的宝妈群", members: int = 180):
    return RoomInvitation(id=invitation, room=room, topic=topic, inviter=inviter, at=START, member_count=members)


async def applications(services) -> list[ColearningApplication]:
    async with services.db.reading() as session:
        return list(await session.scalars(select(ColearningApplication).order_by(ColearningApplication.id)))


async def test_a_distributor_asking_for_co_learning_is_told_the_steps_and_a_stranger_that_it_is_for_distributors(
    services,
):
    await dispatch(
        services,
        said("wx-lina", "我想申请共学营", START, 1, room=None),
        said("wx-nobody", "共学营", START, 2, room=None),
    )

    steps, stranger = await outbox(services)
    assert (steps.target, steps.template) == ("wx-lina", "colearning_apply_steps")
    assert "李娜，申请共学营只要三步" in steps.text and "把小助手拉进你自己的家长群" in steps.text
    assert (stranger.target, stranger.template) == ("wx-nobody", "colearning_not_distributor")
    assert "你还不是分销员" in stranger.text


async def test_a_distributors_invitation_becomes_an_application_and_both_the_distributor_and_ops_hear_of_it(services):
    await dispatch(services, invited("inv-1", "room-lina", "wx-lina"))

    [application] = await applications(services)
    assert (application.room_id, application.topic, application.member_count, application.status) == (
        "room-lina",
        "李娜的宝妈群",
        180,
        "pending",
    )
    received, ops = await outbox(services)
    assert (received.target, received.template) == ("wx-lina", "colearning_received")
    assert "群「李娜的宝妈群」，180 人" in received.text
    assert (ops.target, ops.template) == ("ops-xiaomei", "colearning_ops_new")
    assert f"distbot colearning approve {application.id}" in ops.text
    async with services.db.reading() as session:
        assert (await session.get(RoomInvitationRecord, "inv-1")).status == "pending"  # recorded as before


async def test_an_invitation_from_someone_who_is_not_a_distributor_only_waits_for_ops_as_before(services):
    await dispatch(services, invited("inv-9", "room-x", "wx-nobody"), invited("inv-9", "room-x", "wx-nobody"))

    assert await applications(services) == []
    assert await outbox(services) == []
    async with services.db.reading() as session:
        assert (await session.get(RoomInvitationRecord, "inv-9")).inviter == "wx-nobody"


async def test_approving_makes_the_helper_accept_the_invitation_enrols_the_group_and_tells_the_distributor(
    services, client
):
    await dispatch(services, invited("inv-1", "room-lina", "wx-lina"))
    [application] = await applications(services)

    response = await client.post(f"/api/colearning/applications/{application.id}/approve", headers=AUTH)
    again = await client.post(f"/api/colearning/applications/{application.id}/approve", headers=AUTH)

    assert (response.status, await response.json()) == (200, {"status": "enrolled", "id": application.id})
    assert again.status == 409
    accept, told = (await outbox(services))[2:]
    assert (accept.kind, accept.target, accept.account) == ("room_invitation_accept", "inv-1", "helper")
    assert (told.target, told.template) == ("wx-lina", "colearning_approved")
    listed = await (await client.get("/api/colearning/applications?status=enrolled", headers=AUTH)).json()
    assert [(a["id"], a["distributor"]["code"], a["room"]) for a in listed["applications"]] == [
        (application.id, "DEMOC001", "room-lina")
    ]


async def test_rejecting_needs_a_reason_and_the_distributor_is_told_it(services, client):
    await dispatch(services, invited("inv-1", "room-lina", "wx-lina"))
    [application] = await applications(services)
    url = f"/api/colearning/applications/{application.id}/reject"

    missing = await client.post(url, json={}, headers=AUTH)
    response = await client.post(url, json={"reason": "群里以广告为主"}, headers=AUTH)

    assert missing.status == 422
    assert (await missing.json())["errors"] == ["reason: say why, the distributor is told"]
    assert response.status == 200
    told = (await outbox(services))[-1]
    assert (told.target, told.template) == ("wx-lina", "colearning_rejected")
    assert "原因：群里以广告为主" in told.text
    async with services.db.reading() as session:
        assert (await session.get(RoomInvitationRecord, "inv-1")).status == "declined"
    assert not [row for row in await outbox(services) if row.kind == "room_invitation_accept"]


async def test_with_wechaty_the_room_of_an_approved_group_is_learnt_when_the_helper_joins(services, client):
    # The join names the helper by its WeChat id, not by the account name outbox rows carry.
    helper = "wxid_5m3k8q2p7z"
    transport = FakeTransport(self_id=helper, members={"room-zw": ["wx-zhangwei", "p1", "p2", helper]})
    await dispatch(services, invited("inv-2", "", "wx-zhangwei", topic="张伟的家长群", members=3), transport=transport)
    [application] = await applications(services)

    approved = await client.post(f"/api/colearning/applications/{application.id}/approve", headers=AUTH)
    await dispatch(services, RoomJoin("room-zw", (helper,), START, inviter=None), transport=transport)

    assert (await approved.json())["status"] == "approved"
    [application] = await applications(services)
    assert (application.status, application.room_id) == ("enrolled", "room-zw")


async def test_a_group_that_removed_the_helper_leaves_co_learning(services):
    await dispatch(services, invited("inv-1", "room-lina", "wx-lina"))
    async with services.db.unit_of_work() as session:
        (await session.scalar(select(ColearningApplication))).status = "enrolled"

    await dispatch(services, RoomLeave("room-lina", ("helper",), START))

    [application] = await applications(services)
    assert application.status == "left"


async def test_unknown_or_malformed_application_ids_are_not_found(client):
    for url in ("/api/colearning/applications/99/approve", "/api/colearning/applications/x1/approve"):
        assert (await client.post(url, headers=AUTH)).status == 404
    assert (await client.get("/api/colearning/applications?status=odd", headers=AUTH)).status == 422

"""Friend requests the helper does not accept on its own: ops hear of each by DM (once, not a
storm), see them on the console's friend-requests page and accept or reject them there (ops
only, CSRF like every form) or through the API."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.base.transport import FriendRequest
from bot.runtime.dispatch import Dispatcher
from handlers import ROUTERS
from models import FriendRequestRecord
from tests.colearning_support import outbox
from tests.console_support import log_in, make_account
from tests.fakes import FakeTransport
from tests.support import START, TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def deliver(services, *requests: FriendRequest) -> None:
    dispatcher = Dispatcher(services, ROUTERS, FakeTransport())
    dispatcher.start()
    for request in requests:
        await dispatcher.submit(request)
    await dispatcher.stop()


async def statuses(services) -> dict[str, tuple[str, str, str]]:
    async with services.db.reading() as session:
        found = await session.scalars(select(FriendRequestRecord))
        return {r.id: (r.status, r.reason, r.decided_by) for r in found}


async def test_ops_get_one_dm_per_waiting_stranger_even_when_they_ask_again_and_again(services):
    asking = [FriendRequest(f"fr-{n}", "wx-stranger", "陌生人", "在吗", START + timedelta(minutes=n)) for n in range(5)]
    other = FriendRequest("fr-9", "wx-other", "路人甲", "", START + timedelta(minutes=6))

    await deliver(services, asking[0], asking[0], *asking[1:], other)  # the first one delivered twice

    told = await outbox(services, template="friend_request_ops")
    assert [(r.target, r.text) for r in told] == [
        ("ops-xiaomei", "👋 新的好友申请：陌生人（wx-stranger），验证消息“在吗”，等待处理（运营后台 → 好友申请）。"),
        ("ops-xiaomei", "👋 新的好友申请：路人甲（wx-other），没有写验证消息，等待处理（运营后台 → 好友申请）。"),
    ]
    assert {r.coalesce_key for r in told} == {"friend-requests"}  # a burst reaches ops as one message
    decided = await statuses(services)
    assert [decided[f"fr-{n}"][:2] for n in range(5)] == [("ignored", "replaced")] * 4 + [("pending", "")]
    assert decided["fr-9"][0] == "pending"
    assert await outbox(services, kind="friend_accept") == []


async def test_a_request_waiting_a_day_later_tells_ops_again(services):
    await deliver(services, FriendRequest("fr-1", "wx-stranger", "陌生人", "在吗", START))
    await deliver(services, FriendRequest("fr-2", "wx-stranger", "陌生人", "还在吗", START + timedelta(days=1)))

    assert len(await outbox(services, template="friend_request_ops")) == 1  # the clock did not move: same day
    services.clock.at = START + timedelta(days=1, minutes=1)
    await deliver(services, FriendRequest("fr-3", "wx-stranger", "陌生人", "你好", START + timedelta(days=1)))
    assert len(await outbox(services, template="friend_request_ops")) == 2


async def test_ops_accept_and_reject_waiting_requests_on_the_console_page(client, services):
    await deliver(
        services,
        FriendRequest("fr-1", "wx-chen", "陈静", "想了解课程", START),
        FriendRequest("fr-2", "wx-spam", "推广号", "加个好友", START + timedelta(minutes=1)),
    )
    await make_account(services, "xiaomei")
    csrf = await log_in(client, "xiaomei")

    listing = await (await client.get("/console/friend-requests")).text()
    assert "好友申请" in listing and "陈静" in listing and "想了解课程" in listing and "推广号" in listing
    forged = await client.post("/console/friend-requests/fr-1/accept", data={"csrf": "forged"})
    assert forged.status == 403
    accepted = await client.post("/console/friend-requests/fr-1/accept", data={"csrf": csrf})
    rejected = await client.post("/console/friend-requests/fr-2/reject", data={"csrf": csrf})
    again = await client.post("/console/friend-requests/fr-2/accept", data={"csrf": csrf})

    assert "已通过好友申请，小助手会在微信里接受。" in await accepted.text()
    assert "已拒绝好友申请。" in await rejected.text()
    assert "操作未执行：状态已变化。" in await again.text()
    assert await statuses(services) == {"fr-1": ("accepted", "ops", "xiaomei"), "fr-2": ("ignored", "ops", "xiaomei")}
    assert [(r.kind, r.target) for r in await outbox(services) if r.template != "friend_request_ops"] == [
        ("friend_accept", "fr-1"),
        ("text", "wx-chen"),  # how to join, to the person accepted; the rejected one hears nothing
    ]
    done = await (await client.get("/console/friend-requests?status=accepted")).text()
    assert "陈静" in done and "运营处理 · xiaomei" in done


async def test_a_manager_cannot_see_or_decide_friend_requests(client, services):
    await deliver(services, FriendRequest("fr-1", "wx-chen", "陈静", "想了解课程", START))
    await make_account(services, "zhaolin", "manager", ["xinghuo"])
    csrf = await log_in(client, "zhaolin")

    assert (await client.get("/console/friend-requests")).status == 403
    assert (await client.post("/console/friend-requests/fr-1/accept", data={"csrf": csrf})).status == 403
    assert "好友申请" not in await (await client.get("/console")).text()
    assert (await statuses(services))["fr-1"][0] == "pending"


async def test_ops_reject_a_request_through_the_api_and_it_is_listed_as_rejected(client, services):
    await deliver(services, FriendRequest("fr-1", "wx-spam", "推广号", "加个好友", START))

    rejected = await client.post("/api/friend-requests/fr-1/reject", json={"by": "xiaomei"}, headers=AUTH)
    again = await client.post("/api/friend-requests/fr-1/reject", headers=AUTH)
    missing = await client.post("/api/friend-requests/fr-404/accept", headers=AUTH)
    listed = await (await client.get("/api/friend-requests?status=ignored", headers=AUTH)).json()

    assert (rejected.status, again.status, missing.status) == (200, 409, 404)
    assert [(r["id"], r["decided_by"]) for r in listed["requests"]] == [("fr-1", "xiaomei")]
    assert (await client.get("/api/friend-requests?status=nonsense", headers=AUTH)).status == 422

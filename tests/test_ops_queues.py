"""Ops see the friend requests waiting for them and the dead-lettered messages, and act."""

from __future__ import annotations

from sqlalchemy import select

from bot.base.transport import FriendRequest
from bot.runtime.dispatch import Dispatcher
from handlers import ROUTERS
from models import OutboxMessage
from tests.fakes import FakeTransport
from tests.support import START, TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_a_friend_request_the_helper_did_not_accept_is_listed_and_ops_can_accept_it(client, services):
    dispatcher = Dispatcher(services, ROUTERS, FakeTransport())
    dispatcher.start()
    await dispatcher.submit(FriendRequest("r-9", "wx-stranger", "陌生人", "你好", START))
    await dispatcher.stop()

    pending = await (await client.get("/api/friend-requests", headers=AUTH)).json()
    accepted = await client.post("/api/friend-requests/r-9/accept", headers=AUTH)
    again = await client.post("/api/friend-requests/r-9/accept", headers=AUTH)

    assert [(r["id"], r["name"], r["hello"]) for r in pending["requests"]] == [("r-9", "陌生人", "你好")]
    assert (accepted.status, again.status) == (200, 409)
    async with services.db.reading() as session:
        rows = (await session.execute(select(OutboxMessage.kind, OutboxMessage.target, OutboxMessage.template))).all()
    assert [tuple(r) for r in rows] == [
        ("text", "ops-xiaomei", "friend_request_ops"),  # told while it waited
        ("friend_accept", "r-9", ""),
        ("text", "wx-stranger", "how_to_join"),
    ]


async def test_a_dead_lettered_message_is_listed_and_can_be_queued_again(client, services):
    async with services.db.unit_of_work() as session:
        session.add(
            OutboxMessage(
                account="helper",
                kind="text",
                target="wx-lina",
                template="t",
                text="hi",
                status="dead",
                attempts=5,
                last_error="network",
                created_at=START,
                not_before=START,
            )
        )

    dead = await (await client.get("/api/outbox?status=dead", headers=AUTH)).json()
    retried = await client.post(f"/api/outbox/{dead['messages'][0]['id']}/retry", headers=AUTH)
    after = await (await client.get("/api/outbox?status=queued", headers=AUTH)).json()

    assert dead["counts"]["dead"] == 1 and dead["messages"][0]["last_error"] == "network"
    assert retried.status == 200
    assert (after["counts"]["dead"], after["counts"]["queued"], after["messages"][0]["attempts"]) == (0, 1, 0)
    assert (await client.get("/api/outbox?status=nonsense", headers=AUTH)).status == 422
    assert (await client.get("/api/outbox")).status == 401


async def test_an_uncertain_message_is_listed_with_why_and_ops_either_send_it_again_or_drop_it(client, services):
    why = "send_text wx-lina: no answer from the puppet service within 15 s; it may or may not have gone out"
    async with services.db.unit_of_work() as session:
        for target in ("wx-lina", "wx-zhangwei"):
            row = OutboxMessage(account="helper", kind="text", target=target, template="t", text="本月收益 144.00 元")
            row.status, row.attempts, row.last_error, row.created_at, row.not_before = "uncertain", 1, why, START, START
            session.add(row)

    listed = await (await client.get("/api/outbox?status=uncertain", headers=AUTH)).json()
    first, second = sorted(m["id"] for m in listed["messages"])
    retried = await client.post(f"/api/outbox/{first}/retry", headers=AUTH)
    dropped = await client.post(f"/api/outbox/{second}/drop", headers=AUTH)
    dropped_again = await client.post(f"/api/outbox/{second}/drop", headers=AUTH)
    queued_drop = await client.post(f"/api/outbox/{first}/drop", headers=AUTH)  # queued again: not for ops now
    missing = await client.post("/api/outbox/999/drop", headers=AUTH)
    after = await (await client.get("/api/outbox?status=dropped", headers=AUTH)).json()

    assert listed["counts"]["uncertain"] == 2
    assert {(m["status"], m["last_error"]) for m in listed["messages"]} == {("uncertain", why)}
    assert await retried.json() == {"status": "queued", "id": first}
    assert await dropped.json() == {"status": "dropped", "id": second}
    assert (dropped_again.status, queued_drop.status, missing.status) == (409, 409, 404)
    assert (after["counts"]["queued"], after["counts"]["uncertain"], after["counts"]["dropped"]) == (1, 0, 1)
    assert [m["target"] for m in after["messages"]] == ["wx-zhangwei"]

"""Ops decide the entry applications people make by declared reach (“申请 好友数 群数”):
approval makes them distributors and welcomes them, rejection tells them why."""

from __future__ import annotations

from sqlalchemy import select

from models import Distributor, EntryApplication, OutboxMessage
from tests.console_support import log_in, make_account
from tests.dm_support import dm, run
from tests.support import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def apply(services, contact: str, name: str) -> int:
    await run(services, dm(contact, "申请 500 3", name=name))
    async with services.db.reading() as session:
        return await session.scalar(select(EntryApplication.id).where(EntryApplication.contact_id == contact))


async def texts_to(services, contact: str) -> list[str]:
    async with services.db.reading() as session:
        return list(await session.scalars(select(OutboxMessage.text).where(OutboxMessage.target == contact)))


async def test_ops_approve_an_application_and_the_person_becomes_a_distributor_and_is_welcomed(client, services):
    application = await apply(services, "wx-reach", "赵老师")

    listed = await (await client.get("/api/entry-applications", headers=AUTH)).json()
    approved = await client.post(f"/api/entry-applications/{application}/approve", json={"by": "xiaomei"}, headers=AUTH)
    again = await client.post(f"/api/entry-applications/{application}/approve", headers=AUTH)

    assert [(a["name"], a["declared_friends"], a["declared_groups"]) for a in listed["applications"]] == [
        ("赵老师", 500, 3)
    ]
    assert ((await approved.json())["status"], again.status) == ("approved", 409)
    async with services.db.reading() as session:
        person = await session.scalar(select(Distributor).where(Distributor.contact_id == "wx-reach"))
    assert (person.level, person.entry_path, person.recruiter_id) == ("C", "reach", None)
    assert any(person.code in text and "赵老师" in text for text in await texts_to(services, "wx-reach"))


async def test_a_rejected_applicant_is_told_the_reason_and_nothing_is_created(client, services):
    application = await apply(services, "wx-reach2", "钱老师")

    rejected = await client.post(
        f"/api/entry-applications/{application}/reject", json={"reason": "群规模暂不符合"}, headers=AUTH
    )
    unknown = await client.post("/api/entry-applications/999/reject", headers=AUTH)

    assert (rejected.status, unknown.status) == (200, 404)
    assert any("没有通过" in t and "群规模暂不符合" in t for t in await texts_to(services, "wx-reach2"))
    async with services.db.reading() as session:
        assert await session.scalar(select(Distributor).where(Distributor.contact_id == "wx-reach2")) is None
    assert (await client.get("/api/entry-applications")).status == 401


async def test_ops_approve_an_application_from_the_console_distributors_page(client, services):
    application = await apply(services, "wx-reach3", "孙老师")
    await make_account(services, "xiaomei", "ops")
    token = await log_in(client, "xiaomei")

    page = await (await client.get("/console/distributors")).text()
    response = await client.post(
        f"/console/entry-applications/{application}/approve", data={"csrf": token}, allow_redirects=False
    )

    assert "孙老师" in page and f"/console/entry-applications/{application}/approve" in page
    assert response.status == 303
    async with services.db.reading() as session:
        assert (
            await session.scalar(select(Distributor.entry_path).where(Distributor.contact_id == "wx-reach3")) == "reach"
        )

"""The console's pages: what ops see, what a brand manager sees (their brands only: another
brand's things are 404 through the pages and by edited URLs; ops-only pages are 403), and
the actions (mark paid, co-learning, outbox retry) going through the same functions as the API."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import ColearningApplication, ColearningSession, Distributor, OutboxMessage, RedPacket
from tests.console_support import add_pending_application, add_red_packets, log_in, make_account
from tests.support import START, order_event, post_event

OPS_ONLY = [
    "/console/distributors",
    "/console/distributors/DEMOC001",
    "/console/colearning",
    "/console/outbox?status=dead",
]


async def test_ops_see_every_page_in_chinese(client, services):
    await add_red_packets(services)
    await make_account(services, "xiaomei")
    await log_in(client, "xiaomei")

    expected = {
        "/console": "今日支付订单",
        "/console/brands": "星火思维推广1群",
        "/console/brands/huiben": "绘本岛年度精读课",
        "/console/red-packets": "库存降到 100 份及以下",
        "/console/distributors?q=democ": "DEMOC002",
        "/console/distributors?level=A": "DEMOA001",
        "/console/distributors/DEMOC001": "升级进度",
        "/console/colearning": "新建共学营",
        "/console/outbox?status=queued": "消息队列",
    }
    for path, text in expected.items():
        response = await client.get(path)
        assert response.status == 200, path
        assert text in await response.text(), path
        assert response.headers["X-Frame-Options"] == "DENY"


async def test_a_manager_sees_only_their_brands_on_the_lists(client, services):
    await add_red_packets(services)
    await make_account(services, "zhaolin", "manager", ["xinghuo"])
    await log_in(client, "zhaolin")

    brands = await (await client.get("/console/brands")).text()
    packets = await (await client.get("/console/red-packets")).text()
    overview = await (await client.get("/console")).text()

    assert "星火思维" in brands and "绘本岛" not in brands and "小小科学家" not in brands
    assert "星火思维" in packets and "绘本岛" not in packets
    assert "分销员" not in overview and "新增分销员" not in overview  # no ops-only links or figures


@pytest.mark.parametrize(
    "path", ["/console/brands/huiben", "/console/brands/huiben?period=all", "/console/brands/nope"]
)
async def test_a_manager_gets_404_for_another_brand_exactly_as_for_a_brand_that_does_not_exist(client, services, path):
    await make_account(services, "zhaolin", "manager", ["xinghuo"])
    await log_in(client, "zhaolin")

    response = await client.get(path)

    assert response.status == 404
    assert "绘本岛" not in await response.text()
    assert (await client.get("/console/brands/xinghuo")).status == 200


async def test_a_manager_cannot_mark_another_brands_red_packet_paid_by_editing_the_url(client, services):
    packets = await add_red_packets(services)
    await make_account(services, "zhaolin", "manager", ["xinghuo"])
    csrf = await log_in(client, "zhaolin")

    other = await client.post(f"/console/red-packets/{packets['huiben']}/paid", data={"csrf": csrf})
    missing = await client.post("/console/red-packets/999999/paid", data={"csrf": csrf})
    own = await client.post(f"/console/red-packets/{packets['xinghuo']}/paid", data={"csrf": csrf})

    assert (other.status, missing.status, own.status) == (404, 404, 200)
    assert "已标记为已发放" in await own.text()
    async with services.db.reading() as session:
        paid = dict((await session.execute(select(RedPacket.brand_id, RedPacket.paid_by))).all())
    assert paid == {"xinghuo": "zhaolin", "huiben": None}


@pytest.mark.parametrize("path", OPS_ONLY)
async def test_a_manager_gets_403_on_ops_only_pages(client, services, path):
    await make_account(services, "zhaolin", "manager", ["xinghuo"])
    await log_in(client, "zhaolin")

    response = await client.get(path)

    assert response.status == 403
    assert "仅限运营" in await response.text()


async def test_a_manager_cannot_post_to_ops_only_actions(client, services):
    application = await add_pending_application(services)
    await make_account(services, "zhaolin", "manager", ["xinghuo"])
    csrf = await log_in(client, "zhaolin")

    approve = await client.post(f"/console/colearning/applications/{application}/approve", data={"csrf": csrf})
    create = await client.post("/console/colearning/sessions", data={"csrf": csrf, "title": "x"})
    retry = await client.post("/console/outbox/1/retry", data={"csrf": csrf})

    assert (approve.status, create.status, retry.status) == (403, 403, 403)
    async with services.db.reading() as session:
        assert await session.scalar(select(ColearningApplication.status)) == "pending"
        assert await session.scalar(select(ColearningSession.id)) is None


async def test_names_from_users_are_escaped_in_the_html(client, services):
    async with services.db.unit_of_work() as session:
        who = await session.scalar(select(Distributor).where(Distributor.code == "DEMOC002"))
        who.name = "<script>alert(1)</script>"
    await make_account(services, "xiaomei")
    await log_in(client, "xiaomei")

    html = await (await client.get("/console/distributors?q=DEMOC002")).text()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_ops_create_edit_and_cancel_a_session_and_decide_applications_through_the_forms(client, services):
    first, second = await add_pending_application(services), await add_pending_application(services, "room-2", "二群")
    await make_account(services, "xiaomei")
    csrf = await log_in(client, "xiaomei")
    form = {
        "csrf": csrf,
        "title": "数学思维公开课",
        "source_room": "room-lecture",
        "lecturers": "wx-teacher",
        "starts_at": "2026-11-26T20:00",
        "ends_at": "2026-11-26T21:00",
        "course": "XH-MATH-S1",
    }

    bad = await client.post("/console/colearning/sessions", data={**form, "ends_at": "2026-11-26T19:00"})
    created = await client.post("/console/colearning/sessions", data=form)
    async with services.db.reading() as session:
        row = await session.scalar(select(ColearningSession))
    edited = await client.post(f"/console/colearning/sessions/{row.id}", data={**form, "title": "新标题"})
    approved = await client.post(f"/console/colearning/applications/{first}/approve", data={"csrf": csrf})
    rejected = await client.post(
        f"/console/colearning/applications/{second}/reject", data={"csrf": csrf, "reason": "群太小"}
    )
    cancelled = await client.post(
        f"/console/colearning/sessions/{row.id}/cancel", data={"csrf": csrf, "reason": "讲师生病"}
    )

    assert bad.status == 422 and "数学思维公开课" in await bad.text()  # the form keeps what was typed
    assert "共学营已创建" in await created.text() and "共学营已更新" in await edited.text()
    assert "申请已通过" in await approved.text() and "申请已拒绝" in await rejected.text()
    assert "共学营已取消" in await cancelled.text()
    async with services.db.reading() as session:
        row = await session.get(ColearningSession, row.id)
        statuses = dict((await session.execute(select(ColearningApplication.id, ColearningApplication.status))).all())
        decided_by = set(await session.scalars(select(ColearningApplication.decided_by)))
    assert (row.title, row.status, row.cancel_reason) == ("新标题", "cancelled", "讲师生病")
    assert row.starts_at == START.replace(day=26, hour=12)
    assert statuses == {first: "enrolled", second: "rejected"} and decided_by == {"xiaomei"}


async def test_ops_retry_a_dead_lettered_message_from_the_outbox_page(client, services):
    async with services.db.unit_of_work() as session:
        message = OutboxMessage(
            account="helper", kind="text", target="wx-lina", template="t", text="你好", status="dead", attempts=5,
            last_error="network down", created_at=START, not_before=START,
        )  # fmt: skip
        session.add(message)
        await session.flush()
        message_id = message.id
    await make_account(services, "xiaomei")
    csrf = await log_in(client, "xiaomei")

    page = await (await client.get("/console/outbox")).text()
    retried = await client.post(f"/console/outbox/{message_id}/retry", data={"csrf": csrf})
    again = await client.post(f"/console/outbox/{message_id}/retry", data={"csrf": csrf})

    assert "network down" in page
    assert "消息已重新排队" in await retried.text() and "状态已变化" in await again.text()
    async with services.db.reading() as session:
        assert (await session.get(OutboxMessage, message_id)).status == "queued"


async def test_distributors_are_found_by_code_or_name_and_filtered_by_level(client, services):
    await make_account(services, "xiaomei")
    await log_in(client, "xiaomei")

    by_level = await (await client.get("/console/distributors?level=C")).text()
    by_name = await (await client.get("/console/distributors?q=李娜")).text()

    assert "DEMOC001" in by_level and "DEMOC002" in by_level and "DEMOA001" not in by_level
    assert by_name.count('href="/console/distributors/DEMO') == 1


async def test_emptying_reminders_and_course_cards_on_the_edit_form_clears_them(client, services):
    await make_account(services, "xiaomei")
    csrf = await log_in(client, "xiaomei")
    form = {
        "csrf": csrf,
        "title": "公开课",
        "source_room": "room-lecture",
        "lecturers": "wx-teacher",
        "starts_at": "2026-11-26T20:00",
        "ends_at": "2026-11-26T21:00",
        "course": "XH-MATH-S1",
        "reminders": "1h",
        "cards": "30m",
    }
    await client.post("/console/colearning/sessions", data=form)
    async with services.db.reading() as session:
        row = await session.scalar(select(ColearningSession))

    edited = await client.post(f"/console/colearning/sessions/{row.id}", data={**form, "reminders": "", "cards": ""})

    assert "共学营已更新" in await edited.text()
    async with services.db.reading() as session:
        row = await session.get(ColearningSession, row.id)
    assert (list(row.reminders), list(row.cards)) == ([], [])


async def test_every_page_speaks_one_language_and_writes_money_one_way(client, services):
    for n, (sku, amount) in enumerate([("XH-MATH-S1", "399.00")] * 3 + [("HB-YEAR", "1280.00")]):
        event = order_event(f"o-{n}", sku=sku, amount=amount, ref="DEMOC001", buyer=f"b{n}")
        status, _ = await post_event(client, event)
        assert status == 200
    await make_account(services, "xiaomei")
    await log_in(client, "xiaomei")

    person = await (await client.get("/console/distributors/DEMOC001")).text()
    paths = ("/console", "/console/brands", "/console/brands/huiben?period=all", "/console/outbox?status=queued")
    pages = [person] + [await (await client.get(path)).text() for path in paths]

    assert "推广销售额" in person and "直属VIP" in person and "入账" in person and "销售佣金" in person
    for english in ("promoted sales", "direct VIPs", "earned", "seller", "customers"):
        assert english not in person
    assert "2,477.00 / 10,000.00" in person and "还差 7,523.00" in person  # promoted sales toward B
    for html in pages:
        assert not re.search(r"(?<![\d,.])\d{4,}\.\d\d(?!\d)", html)  # 1280.00 is always 1,280.00

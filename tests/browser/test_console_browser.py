"""The ops console in a real browser: Playwright drives Debian's Chromium against the app
served on 127.0.0.1 (a free port) over the test database. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import web_app
from models import ColearningApplication, ColearningSession, OutboxMessage, RedPacket
from tests.browser.conftest import ARTIFACTS, CHROMIUM
from tests.console_support import PASSWORD, add_pending_application, add_red_packets, make_account
from tests.support import START, order_event, post_event

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed")


@pytest.fixture
async def served(services) -> AsyncIterator[TestClient]:
    """The app on 127.0.0.1 with a free port; a client for seeding orders through the webhook."""
    client = TestClient(TestServer(web_app(services), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def add_sent_messages(services, count: int) -> list[int]:
    """``count`` DMs sent to 李娜, newest last; their ids, newest first (as the sent tab lists them)."""
    async with services.db.unit_of_work() as session:
        rows = [
            OutboxMessage(account="helper", kind="text", target="wx-lina", template="t", text=f"第 {n} 条消息",
                          status="sent", created_at=START, not_before=START, sent_at=START + timedelta(seconds=n))
            for n in range(count)
        ]  # fmt: skip
        session.add_all(rows)
        await session.flush()
        return [row.id for row in reversed(rows)]


async def shot(page, name: str, dialect: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"console-{name}-{dialect}.png"), full_page=True)


async def test_ops_log_in_schedule_a_session_approve_an_application_and_mark_a_red_packet_paid(
    served, services, browser, dialect
):
    from playwright.async_api import expect

    packets = await add_red_packets(services)
    application = await add_pending_application(services)
    await make_account(services, "xiaomei")
    sent = await add_sent_messages(services, 60)
    for n, ref in enumerate(["DEMOC001", "DEMOC001", "DEMOB001", "DEMOC002"]):
        status, _ = await post_event(served, order_event(f"o-{n}", ref=ref, buyer=f"buyer-{n}"))
        assert status == 200
    base = str(served.make_url("/console")).rstrip("/")
    context = await browser.new_context(viewport={"width": 1100, "height": 800}, locale="zh-CN")
    try:
        page = await context.new_page()
        await page.goto(f"{base}/red-packets")
        await expect(page).to_have_url(f"{base}/login?next=/console/red-packets")
        await page.get_by_label("用户名").fill("xiaomei")
        await page.get_by_label("密码").fill(PASSWORD)
        await shot(page, "login", dialect)
        await page.get_by_role("button", name="登录").click()
        await expect(page.locator(f"#red-packet-{packets['xinghuo']}")).to_be_visible()

        await page.goto(base)
        await expect(page.locator("[data-figure=orders]")).to_have_text("4")
        revenue = page.locator("svg[data-chart=revenue] rect")
        await expect(revenue).to_have_count(1)  # today's column, one brand
        await expect(revenue.locator("title")).to_have_text("11-25 星火思维：1,596.00 元")
        await expect(page.locator("svg[data-chart=revenue] text.tick").filter(has_text="11-12")).to_have_count(1)
        await expect(page.locator("svg[data-chart=newcomers] rect")).to_have_count(1)
        await expect(page.locator("[data-health=queued]")).to_have_text("8")  # the orders' messages, not sent here
        await shot(page, "overview", dialect)

        await page.goto(f"{base}/outbox?status=sent")
        await expect(page.locator("tr[id^=message-]")).to_have_count(50)
        await expect(page.locator(f"#message-{sent[0]}")).to_contain_text("李娜")
        await shot(page, "outbox-sent", dialect)
        await page.get_by_role("link", name="下一页").click()
        await expect(page.locator("tr[id^=message-]")).to_have_count(10)
        await expect(page.get_by_role("link", name="2", exact=True)).to_have_attribute("aria-current", "page")
        await shot(page, "outbox-sent-page-2", dialect)

        await page.goto(f"{base}/colearning")
        form = page.locator("#create-session")
        await form.get_by_label("标题").fill("数学思维公开课")
        await form.get_by_label("直播源群").fill("room-lecture")
        await form.get_by_label("讲师").fill("wx-teacher")
        await form.get_by_label("课程", exact=True).select_option("XH-MATH-S1")
        await form.get_by_label("开始时间").fill("2026-11-26T20:00")
        await form.get_by_label("结束时间").fill("2026-11-26T21:00")
        await form.get_by_role("button", name="创建").click()
        await expect(page.get_by_role("status")).to_have_text("共学营已创建。")
        await expect(page.get_by_role("cell", name="数学思维公开课")).to_be_visible()

        await shot(page, "colearning-created", dialect)
        await page.locator(f"#application-{application}").get_by_role("button", name="通过").click()
        await expect(page.get_by_role("status")).to_have_text("申请已通过。")
        await shot(page, "colearning-approved", dialect)

        await page.goto(f"{base}/red-packets")
        await shot(page, "red-packets-owed", dialect)
        await page.locator(f"#red-packet-{packets['xinghuo']}").get_by_role("button", name="标记已发").click()
        await expect(page.get_by_role("status")).to_have_text("已标记为已发放。")
        await expect(page.locator(f"#red-packet-{packets['xinghuo']}")).to_have_count(0)
        await shot(page, "red-packets-marked", dialect)

        await page.goto(f"{base}/brands/xinghuo?period=today")
        await expect(page.locator("svg rect")).to_have_count(3)
        await shot(page, "brand", dialect)

        await page.goto(f"{base}/distributors")
        await page.get_by_label("搜索").fill("李娜")
        await page.get_by_role("button", name="搜索").click()
        await page.get_by_role("link", name="DEMOC001").click()
        await expect(page.get_by_role("heading", name="升级进度")).to_be_visible()
        await shot(page, "distributor", dialect)

        await page.set_viewport_size({"width": 400, "height": 800})
        for name in ("", "colearning", "outbox?status=sent", "red-packets"):
            await page.goto(f"{base}/{name}".rstrip("/"))
            await shot(page, f"{name.split('?')[0] or 'overview'}-phone", dialect)
            assert await page.evaluate("document.documentElement.scrollWidth") <= 400, name
    finally:
        await context.close()

    async with services.db.reading() as session:
        assert await session.scalar(select(ColearningSession.title)) == "数学思维公开课"
        assert await session.scalar(select(ColearningApplication.status)) == "enrolled"
        assert await session.scalar(select(RedPacket.paid_by).where(RedPacket.id == packets["xinghuo"])) == "xiaomei"


async def test_a_manager_at_phone_width_sees_their_brand_only_and_another_brands_url_is_not_found(
    served, services, browser, dialect
):
    from playwright.async_api import expect

    await add_red_packets(services)
    await make_account(services, "zhaolin", "manager", ["xinghuo"])
    base = str(served.make_url("/console")).rstrip("/")
    context = await browser.new_context(viewport={"width": 400, "height": 780}, locale="zh-CN", is_mobile=True)
    try:
        page = await context.new_page()
        await page.goto(f"{base}/login")
        await page.get_by_label("用户名").fill("zhaolin")
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await expect(page.get_by_role("link", name="分销员")).to_have_count(0)
        await page.goto(f"{base}/brands")
        await expect(page.get_by_text("绘本岛")).to_have_count(0)
        await shot(page, "manager-brands-phone", dialect)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400

        response = await page.goto(f"{base}/brands/huiben")
        assert response is not None and response.status == 404
        response = await page.goto(f"{base}/outbox?status=dead")  # dead letters are ops' alone
        assert response is not None and response.status == 403
        await shot(page, "manager-403-phone", dialect)
    finally:
        await context.close()

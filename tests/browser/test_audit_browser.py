"""The new console pages in a real browser (Debian's Chromium through Playwright): the stock
form and the audit log (操作记录) filtered, withdrawals (提现) approved and rejected, group
moderation (群管理) undone, and a manager's narrower view. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

import handlers
from bot.app import web_app
from bot.runtime.dispatch import Dispatcher
from bot.runtime.middleware import AnswerLimiter
from bot.runtime.moderation import Moderator
from models import Distributor, LedgerLine
from services import withdrawals
from services.settlement import settle_pass
from tests.browser.conftest import ARTIFACTS, CHROMIUM
from tests.console_support import PASSWORD, make_account
from tests.dm_support import dm
from tests.fakes import FakeTransport
from tests.support import order_event, post_event

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed")


@pytest.fixture
async def served(services) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(web_app(services), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def shot(page, name: str, dialect: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"console-{name}-{dialect}.png"), full_page=True)


async def log_in(browser, base: str, name: str):
    context = await browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{base}/login")
    await page.get_by_label("用户名").fill(name)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(f"{base}")
    return context, page


async def an_ad_poster_removed(services) -> None:
    stage = [AnswerLimiter.for_env(services), Moderator(services)]
    dispatcher = Dispatcher(services, handlers.ROUTERS, FakeTransport(), middlewares=stage)
    dispatcher.start()
    for n in range(3):
        services.clock.advance(minutes=1)
        await dispatcher.submit(replace(dm("wx-ad", "加微信", room="room-xinghuo-1", name="小广告"), id=f"ad-{n}"))
    await dispatcher.submit(dm("wx-ad", "申诉 我是家长"))
    await dispatcher.stop()


async def test_ops_set_stock_and_find_it_in_the_audit_log_with_before_and_after(served, services, browser, dialect):
    from playwright.async_api import expect

    await make_account(services, "xiaomei")
    await an_ad_poster_removed(services)
    base = str(served.make_url("/console")).rstrip("/")
    context, page = await log_in(browser, base, "xiaomei")
    try:
        await page.goto(f"{base}/brands/xinghuo")
        row = page.locator("#course-XH-MATH-S1")
        await row.get_by_label("星火思维秋季课 新库存").fill("240")
        await row.get_by_role("button", name="设置").click()
        await expect(page.get_by_role("status")).to_contain_text("库存已设置")
        await expect(page.locator("#course-XH-MATH-S1 td.num")).to_have_text("240")

        await page.get_by_role("link", name="操作记录").click()
        await page.locator("#audit-filter select[name=kind]").select_option("stock")
        await page.get_by_role("button", name="筛选").click()
        entries = page.locator("#audit-entries tr[id^=audit-]")
        await expect(entries).to_have_count(1)
        await expect(entries.first).to_contain_text("xiaomei")
        await expect(entries.first).to_contain_text("后台")
        await expect(entries.first).to_contain_text("stock: 240")
        await page.locator("#audit-filter select[name=kind]").select_option("moderation")
        await page.get_by_role("button", name="筛选").click()
        removal = page.locator("#audit-entries tr", has_text="moderation.remove")
        await expect(removal).to_contain_text("in_group: True")
        await expect(removal).to_contain_text("in_group: False")
        await shot(page, "audit", dialect)
    finally:
        await context.close()


async def test_ops_approve_and_reject_withdrawals_in_the_browser(served, services, browser, dialect):
    from playwright.async_api import expect

    await make_account(services, "xiaomei")
    assert (await post_event(served, order_event("o-1", ref="DEMOC001")))[0] == 200
    assert (await post_event(served, order_event("o-2", ref="DEMOC001", buyer="b-2")))[0] == 200
    services.clock.advance(days=8)
    await settle_pass(services)
    async with services.db.reading() as session:
        lina = await session.scalar(select(Distributor.id).where(Distributor.code == "DEMOC001"))
    async with services.context() as ctx:
        first = await withdrawals.request_withdrawal(ctx, lina, Decimal("100.00"))
    base = str(served.make_url("/console")).rstrip("/")
    context, page = await log_in(browser, base, "xiaomei")
    try:
        await page.get_by_role("link", name="提现").click()
        row = page.locator(f"#withdrawal-{first.id}")
        await expect(row).to_contain_text("李娜")
        await expect(row).to_contain_text("100.00")
        await shot(page, "withdrawals", dialect)
        await row.get_by_role("button", name="通过并打款").click()
        await expect(page.get_by_role("status")).to_contain_text("提现已通过")
        async with services.db.reading() as session:
            paid = list(await session.scalars(select(LedgerLine.amount).where(LedgerLine.entry == "paid_out")))
        assert paid == [Decimal("-100.00")]

        async with services.context() as ctx:
            second = await withdrawals.request_withdrawal(ctx, lina, Decimal("50.00"))
        await page.reload()
        row = page.locator(f"#withdrawal-{second.id}")
        await row.get_by_label("拒绝原因").fill("收款账户有误")
        await row.get_by_role("button", name="拒绝").click()
        await expect(page.get_by_role("status")).to_contain_text("提现已拒绝")
        await page.get_by_role("link", name="已拒绝").click()
        await expect(page.locator(f"#withdrawal-{second.id}")).to_contain_text("收款账户有误")
        async with page.expect_download() as download:
            await page.locator("#withdrawal-export").get_by_role("button", name="导出").click()
        csv_path = await (await download.value).path()
        lines = Path(csv_path).read_text(encoding="utf-8").splitlines()
        assert lines[1].split(",")[2:5] == ["DEMOC001", "李娜", "100.00"]
    finally:
        await context.close()


async def test_ops_undo_a_removal_and_a_manager_sees_only_their_brand(served, services, browser, dialect):
    from playwright.async_api import expect

    await make_account(services, "xiaomei")
    await make_account(services, "zhaolin", "manager", ["xinghuo"])
    await make_account(services, "huiben-mgr", "manager", ["huiben"])
    await an_ad_poster_removed(services)
    base = str(served.make_url("/console")).rstrip("/")

    context, page = await log_in(browser, base, "zhaolin")
    try:
        await page.get_by_role("link", name="群管理").click()
        case = page.locator("#moderation-cases tr[id^=case-]")
        await expect(case).to_have_count(1)
        await expect(case).to_contain_text("申诉：我是家长")
        await expect(case.get_by_role("button")).to_have_count(0)  # managers see, ops decide
        await expect(page.get_by_role("link", name="提现")).to_have_count(0)
    finally:
        await context.close()

    context, page = await log_in(browser, base, "huiben-mgr")
    try:
        await page.goto(f"{base}/moderation")
        await expect(page.locator("#moderation-cases tr[id^=case-]")).to_have_count(0)
        await page.goto(f"{base}/audit")
        await expect(page.locator("#audit-entries tr[id^=audit-]")).to_have_count(0)
    finally:
        await context.close()

    context, page = await log_in(browser, base, "xiaomei")
    try:
        await page.get_by_role("link", name="群管理").click()
        await shot(page, "moderation", dialect)
        case = page.locator("#moderation-cases tr[id^=case-]")
        await case.get_by_label("撤销备注").fill("误判")
        await case.get_by_role("button", name="撤销并重新邀请").click()
        await expect(page.get_by_role("status")).to_contain_text("已撤销")
        await expect(case).to_contain_text("已撤销（已重新邀请）")
        await expect(page.locator("#moderation-strikes")).to_contain_text("已清除 · xiaomei")
    finally:
        await context.close()

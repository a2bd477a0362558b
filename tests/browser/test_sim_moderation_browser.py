"""Group moderation as the simulator page shows it, in Debian's Chromium: an ad poster typing
in a brand group is warned by the helper, then removed — the group reads “小广告 被移出群聊”."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

import handlers
from bot.app import middlewares, web_app
from bot.runtime.dispatch import Dispatcher
from bot.runtime.metrics import EventMetrics
from bot.runtime.sender import OutboxSender
from bot.transports.sim import SimTransport
from tests.browser.conftest import ARTIFACTS, CHROMIUM
from tests.sim_support import INSTANT

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed")
WAIT = 15_000  # ms: the page polls every second, the bot answers through the outbox
ROOM = "room-xinghuo-1"


@pytest.fixture
async def bot(services, tmp_path) -> AsyncIterator[TestClient]:
    """The app as ``distbot run`` serves it, with its pre-routing stage; 小广告 and 李娜 in the group."""
    transport = SimTransport.from_settings(services.settings, tmp_path / "world.jsonl")
    world = transport.world
    world.add_contact("wx-ad", "小广告")
    world.befriend("wx-ad")
    world.join(ROOM, ["wx-lina", "wx-ad"])
    dispatcher = Dispatcher(services, handlers.ROUTERS, transport, middlewares=middlewares(services, EventMetrics()))
    sender = OutboxSender(services, transport, INSTANT)
    services.committed = sender.wake.set
    dispatcher.start()
    await transport.start(dispatcher.submit)
    sender.start()
    client = TestClient(TestServer(web_app(services, transport), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        await transport.stop()
        await dispatcher.stop()
        await sender.stop()


async def test_an_ad_poster_is_warned_then_removed_and_the_group_sees_it(bot, browser, dialect):
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 1200, "height": 860}, locale="zh-CN")
    try:
        page = await context.new_page()
        await page.goto(str(bot.make_url("/sim?me=wx-ad")))
        await page.locator("#conversations li", has_text="星火思维推广1群").click()
        messages = page.locator("#messages")
        for n, text in enumerate(("加微信领资料", "官网 www.cheap-course.cn", "加V看课")):
            await page.get_by_label("消息", exact=True).fill(text)
            await page.get_by_role("button", name="发送").click()
            if n < 2:
                warning = messages.get_by_text(f"这是你在本品牌群的第 {n + 1} 次违规", exact=False)
                await expect(warning).to_be_visible(timeout=WAIT)

        await page.goto(str(bot.make_url("/sim?me=wx-lina")))
        await page.locator("#conversations li", has_text="星火思维推广1群").click()
        await expect(messages.get_by_text("小广告 被移出群聊", exact=True)).to_be_visible(timeout=WAIT)
        await expect(messages.get_by_text("已被移出「星火思维推广1群」", exact=False)).to_be_visible(timeout=WAIT)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / f"sim-moderation-{dialect}.png"), full_page=True)
    finally:
        await context.close()


async def test_a_business_card_shared_from_the_page_is_judged_as_a_card(bot, browser, dialect):
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 1200, "height": 860}, locale="zh-CN")
    try:
        page = await context.new_page()
        await page.goto(str(bot.make_url("/sim?me=wx-ad")))
        await page.locator("#conversations li", has_text="星火思维推广1群").click()
        await page.get_by_role("button", name="名片").click()
        await page.get_by_label("分享谁的名片").select_option("wx-lina")
        messages = page.locator("#messages")
        await expect(messages.get_by_text("[名片] 李娜", exact=True)).to_be_visible(timeout=WAIT)
        warning = messages.get_by_text("本群禁止推送名片。这是你在本品牌群的第 1 次违规", exact=False)
        await expect(warning).to_be_visible(timeout=WAIT)
    finally:
        await context.close()

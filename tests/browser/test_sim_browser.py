"""The /sim page as a new user meets it, in Debian's Chromium through Playwright, with the whole
bot running behind it (dispatcher, outbox sender without pauses, the console): a leaderboard
poster shows inline with its emoji, a greeting with a code gets a stranger registered, a
person creates a group, pulls a friend in and invites the helper, and ops accept a waiting
friend request on the console page. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

import handlers
from bot.app import web_app
from bot.runtime.dispatch import Dispatcher
from bot.runtime.sender import OutboxSender
from bot.transports.sim import SimTransport
from models import ColearningApplication, Distributor, FriendRequestRecord
from tests.browser.conftest import ARTIFACTS, CHROMIUM
from tests.console_support import PASSWORD, make_account
from tests.sim_support import INSTANT, png
from tests.support import order_event, post_event

PHOTO = png("orange", (120, 90))
WAIT = 15_000  # ms: the page polls every second, the bot answers through the outbox

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed")

# Draws one emoji on a canvas in the page's font and counts coloured pixels: a colour emoji font
# gives many, a font without the glyph draws a grey box or nothing.
EMOJI_COLOURS = """(emoji) => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 64;
  const g = canvas.getContext("2d");
  g.font = "48px " + getComputedStyle(document.body).fontFamily;
  g.textBaseline = "top";
  g.fillText(emoji, 4, 4);
  const px = g.getImageData(0, 0, 64, 64).data;
  let coloured = 0;
  for (let i = 0; i < px.length; i += 4) {
    if (px[i + 3] > 0 && Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) > 40) coloured++;
  }
  return coloured;
}"""
# The picker's width against the width its chosen name needs in its own font.
PICKER_FITS = """() => {
  const select = document.getElementById("me");
  const text = select.options[select.selectedIndex].text;
  const g = document.createElement("canvas").getContext("2d");
  g.font = getComputedStyle(select).font;
  return { text, need: g.measureText(text).width, have: select.clientWidth };
}"""


@pytest.fixture
async def bot(services, tmp_path: Path) -> AsyncIterator[TestClient]:
    """The app as ``distbot run`` serves it on 127.0.0.1 (a free port), the bot answering."""
    transport = SimTransport.from_settings(services.settings, tmp_path / "world.jsonl")
    dispatcher = Dispatcher(services, handlers.ROUTERS, transport)
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


async def shot(page, name: str, dialect: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"sim-{name}-{dialect}.png"), full_page=True)


async def say(page, text: str) -> None:
    await page.get_by_label("消息", exact=True).fill(text)
    await page.get_by_role("button", name="发送").click()


async def test_a_new_user_sees_the_poster_and_emoji_registers_with_a_code_and_brings_the_helper_into_a_group(
    bot, services, browser, dialect
):
    from playwright.async_api import expect

    for n, ref in enumerate(["DEMOC001", "DEMOC001", "DEMOC002"]):
        assert (await post_event(bot, order_event(f"o-{n}", ref=ref, buyer=f"buyer-{n}")))[0] == 200
    context = await browser.new_context(viewport={"width": 1200, "height": 860}, locale="zh-CN")
    try:
        page = await context.new_page()
        await page.goto(str(bot.make_url("/sim?me=wx-lina")))

        # The names in the picker are whole.
        await page.get_by_label("选择联系人").select_option("mgr-zhaolin")
        fits = await page.evaluate(PICKER_FITS)
        assert fits["text"] == "星火思维课程经理（mgr-zhaolin）" and fits["have"] >= fits["need"], fits
        await page.get_by_label("选择联系人").select_option("wx-lina")

        # A brand keyword gets 李娜 into the brand group; there the leaderboard and its poster.
        await say(page, "数学")
        await page.locator("#conversations li", has_text="星火思维推广1群").click()
        await say(page, "排行榜")
        messages = page.locator("#messages")
        await expect(messages.get_by_text("🥇", exact=False)).to_be_visible(timeout=WAIT)
        poster = messages.locator("img.photo")
        await expect(poster).to_be_visible(timeout=WAIT)
        assert await poster.evaluate("(img) => img.complete && img.naturalWidth") > 300
        assert await page.evaluate(EMOJI_COLOURS, "🥇") > 100, "no colour emoji font: run scripts/system-deps"
        await shot(page, "leaderboard-poster", dialect)

        # 李娜 creates her own group with 张伟, pulls 林晓 in and invites the helper.
        await page.get_by_role("button", name="发起群聊").click()
        await page.get_by_label("群名称").fill("李娜的家长群")
        await page.locator("#group-picks label").filter(has_text="张伟").locator("input").check()
        await page.get_by_role("button", name="创建群聊").click()
        await expect(page.locator("#chat-title")).to_have_text("李娜的家长群")
        await page.get_by_label("邀请谁进群").select_option("wx-linxiao")
        await page.get_by_role("button", name="邀请进群").click()
        await expect(page.locator("#room-count")).to_have_text("群成员 3 人", timeout=WAIT)
        await page.get_by_label("邀请谁进群").select_option("helper")
        await page.get_by_role("button", name="邀请进群").click()
        await expect(page.get_by_role("status")).to_contain_text("已邀请")
        await page.locator("#image-file").set_input_files(
            files=[{"name": "作业.png", "mimeType": "image/png", "buffer": PHOTO}]
        )
        photo = messages.locator(".row.mine img.photo")
        await expect(photo).to_be_visible(timeout=WAIT)
        assert await photo.evaluate("(img) => img.complete && img.naturalWidth") == 120
        await shot(page, "own-group", dialect)
        await page.locator("#conversations li").first.click()
        await expect(messages.get_by_text("收到你的共学营申请", exact=False)).to_be_visible(timeout=WAIT)

        # A stranger puts a code in the greeting and is a distributor by the time the page shows it.
        await page.get_by_label("新朋友的名字").fill("陈静")
        await page.get_by_label("验证消息").fill("你好，邀请码 DEMOC001")
        await page.get_by_role("button", name="加小助手为好友").click()
        await expect(messages.get_by_text("欢迎加入", exact=False)).to_be_visible(timeout=WAIT)
        await expect(page.locator("#chat-title")).to_have_text("童趣优课小助手", timeout=WAIT)
        await shot(page, "greeting-with-code", dialect)

        await page.set_viewport_size({"width": 400, "height": 800})
        await shot(page, "phone", dialect)
        assert await page.evaluate("document.documentElement.scrollWidth") <= 400
    finally:
        await context.close()

    async with services.db.reading() as session:
        assert await session.scalar(select(ColearningApplication.topic)) == "李娜的家长群"
        chen = await session.scalar(select(Distributor).where(Distributor.name == "陈静"))
        assert chen is not None and chen.status == "active"


async def test_ops_accept_a_strangers_waiting_friend_request_on_the_console_and_the_stranger_can_talk(
    bot, services, browser, dialect
):
    from playwright.async_api import expect

    await make_account(services, "xiaomei")
    context = await browser.new_context(viewport={"width": 1100, "height": 800}, locale="zh-CN")
    try:
        sim = await context.new_page()
        await sim.goto(str(bot.make_url("/sim")))
        await sim.get_by_label("新朋友的名字").fill("路人甲")
        await sim.get_by_label("验证消息").fill("你好，想了解一下")
        await sim.get_by_role("button", name="加小助手为好友").click()
        await expect(sim.locator("#chat-title")).to_have_text("童趣优课小助手（等待通过好友验证）")
        await expect(sim.get_by_label("消息", exact=True)).to_be_disabled()

        console = await context.new_page()
        await console.goto(str(bot.make_url("/console/friend-requests")))
        await console.get_by_label("用户名").fill("xiaomei")
        await console.get_by_label("密码").fill(PASSWORD)
        await console.get_by_role("button", name="登录").click()
        row = console.locator("tr", has_text="路人甲")
        await expect(row).to_contain_text("你好，想了解一下")
        await console.screenshot(path=str(ARTIFACTS / f"console-friend-requests-{dialect}.png"), full_page=True)
        await row.get_by_role("button", name="通过").click()
        await expect(console.get_by_role("status")).to_have_text("已通过好友申请，小助手会在微信里接受。")
        await expect(console.locator("tr", has_text="路人甲")).to_have_count(0)

        await expect(sim.locator("#chat-title")).to_have_text("童趣优课小助手", timeout=WAIT)
        await expect(sim.locator("#messages")).to_contain_text("加入的方法", timeout=WAIT)
        await say(sim, "帮助")
        await expect(sim.locator("#messages")).to_contain_text("欢迎来到童趣优课", timeout=WAIT)
        await shot(sim, "accepted-by-ops", dialect)
    finally:
        await context.close()

    async with services.db.reading() as session:
        assert await session.scalar(select(FriendRequestRecord.decided_by)) == "xiaomei"

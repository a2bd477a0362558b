"""The three capabilities end to end in the simulator, as a person and ops would see them:
a withdrawal asked for in the chat, approved through the API, the balance and ledger moved and
a second request refused while one is open; and the audit log on the console showing a stock
change made there next to a moderation removal, each with before and after."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.ledger import Entry
from models import LedgerLine
from services.settlement import settle_pass
from tests.console_support import log_in, make_account
from tests.sim_bot_support import ROOM, World
from tests.support import TOKEN, order_event, post_event

pytestmark = pytest.mark.wall_clock  # the whole bot but the web server, through the simulator
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LINA = "wx-lina"


async def test_a_withdrawal_asked_for_in_the_chat_is_approved_and_a_second_refused_while_it_is_open(
    services, client, tmp_path
):
    for order in ("o-1", "o-2"):
        assert (await post_event(client, order_event(order, ref="DEMOC001", buyer=f"b-{order}")))[0] == 200
    services.clock.advance(days=8)
    await settle_pass(services)  # 288.00 settled for 李娜

    async with World(services, tmp_path / "world.jsonl") as w:
        await w.says(LINA, "提现", room=None)
        assert "可提现 288.00 元" in w.dms_to(LINA)[-1]
        await w.says(LINA, "提现 200", room=None)
        assert "已收到李娜的提现申请：200.00 元" in w.dms_to(LINA)[-1]
        await w.says(LINA, "提现 50", room=None)
        assert "你已有一笔 200.00 元的提现在等待审核" in w.dms_to(LINA)[-1]

        [open_one] = (await (await client.get("/api/withdrawals", headers=AUTH)).json())["withdrawals"]
        approved = await client.post(f"/api/withdrawals/{open_one['id']}/approve", json={"by": "cw"}, headers=AUTH)
        assert approved.status == 200
        await w.settle()
        assert "你的提现 200.00 元已审核通过并打款，当前余额 88.00 元" in w.dms_to(LINA)[-1]

        services.clock.advance(minutes=10)  # the same question, asked again later, is answered again
        await w.says(LINA, "提现", room=None)
        assert "可提现 88.00 元" in w.dms_to(LINA)[-1]
        await w.says(LINA, "收益", room=None)
        assert "已打款 200.00 · 余额 88.00" in w.dms_to(LINA)[-1]

    async with services.db.reading() as session:
        payouts = list(await session.scalars(select(LedgerLine.amount).where(LedgerLine.entry == Entry.PAID_OUT)))
    assert [str(p) for p in payouts] == ["-200.00"]


async def test_the_audit_log_shows_a_console_stock_change_and_a_moderation_removal_with_before_and_after(
    services, client, tmp_path
):
    await make_account(services, "xiaomei")
    csrf = await log_in(client, "xiaomei")
    await client.post("/console/brands/xinghuo/stock", data={"csrf": csrf, "sku": "XH-MATH-S1", "stock": "120"})

    async with World(services, tmp_path / "world.jsonl") as w:
        w.world.add_contact("wx-ad", "小广告")
        w.world.join(ROOM, ["wx-ad"])
        await w.settle()
        for text in ("加微信", "www.ad.cn", "加v"):
            services.clock.advance(minutes=1)
            await w.says("wx-ad", text)
        assert "小广告 被移出群聊" in w.room_lines()

    page = await (await client.get("/console/audit")).text()
    stock_row = page[page.index("stock.set") - 600 : page.index("stock.set") + 600]
    assert "xiaomei" in stock_row and "stock: 120" in stock_row
    removal = page[page.index("moderation.remove") - 600 : page.index("moderation.remove") + 900]
    assert "in_group: True" in removal and "in_group: False" in removal and "strikes: 3" in removal
    api = await (await client.get("/api/audit?kind=moderation", headers=AUTH)).json()
    assert [e["action"] for e in api["entries"]] == ["moderation.remove", "moderation.warn", "moderation.warn"]

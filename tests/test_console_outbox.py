"""The console's outbox: rows said as ops say them (who by name, what in words, when in the
platform's time zone) and each tab in pages of 50."""

from __future__ import annotations

import re
from datetime import timedelta

from models import FriendRequestRecord, OutboxMessage
from tests.console_support import log_in, make_account
from tests.support import START


def sent(**values) -> OutboxMessage:
    values = {"template": "t", "sent_at": START, **values}
    return OutboxMessage(account="helper", status="sent", created_at=START, not_before=START, **values)


def row_of(html: str, message_id: int) -> str:
    row = re.search(rf'<tr id="message-{message_id}">.*?</tr>', html, re.S).group(0)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()


async def test_sent_messages_show_names_readable_actions_and_shanghai_times(client, services):
    async with services.db.unit_of_work() as session:
        session.add(FriendRequestRecord(id="fr-9", account="helper", contact_id="wx-new", name="赵敏", hello="分销",
                                        status="accepted", received_at=START))  # fmt: skip
        rows = [
            sent(kind="text", target="wx-lina", text="您的收益已更新"),
            sent(kind="text", target="room-xinghuo-1", target_is_room=True, text="接龙 1. 李*"),
            sent(kind="image", target="room-xinghuo-1", target_is_room=True, template="leaderboard_poster",
                 text="排行榜海报 xinghuo all amount", payload={"image_b64": "", "name": "poster.png"}),
            sent(kind="room_add", target="wx-zhangwei", payload={"room": "room-material"}),
            sent(kind="friend_accept", target="fr-9"),
            sent(kind="text", target="mgr-zhaolin", text="红包提醒"),
        ]  # fmt: skip
        session.add_all(rows)
        await session.flush()
        ids = [row.id for row in rows]
    await make_account(services, "xiaomei")
    await log_in(client, "xiaomei")

    html = await (await client.get("/console/outbox?status=sent")).text()

    said = [row_of(html, i) for i in ids]
    assert said[0].startswith(f"{ids[0]} 李娜 私聊 您的收益已更新 排队 11-25 10:00 · 发送 11-25 10:00")
    assert said[1].startswith(f"{ids[1]} 星火思维推广1群 群 接龙 1. 李*")
    assert said[2].startswith(f"{ids[2]} 星火思维推广1群 群 排行榜海报：星火思维 · 全部 · 销售额")
    assert said[3].startswith(f"{ids[3]} 张伟 私聊 拉进群：素材群")
    assert said[4].startswith(f"{ids[4]} 赵敏 好友申请 通过好友申请：“分销”")
    assert said[5].startswith(f"{ids[5]} 星火思维课程经理 私聊 红包提醒")
    assert "时间为平台时区（Asia/Shanghai）" in html


async def test_a_long_tab_is_paged_fifty_at_a_time_latest_first(client, services):
    async with services.db.unit_of_work() as session:
        session.add_all(
            sent(kind="text", target="wx-lina", text=f"第 {n} 条", sent_at=START + timedelta(seconds=n))
            for n in range(120)
        )
    await make_account(services, "xiaomei")
    await log_in(client, "xiaomei")

    first = await (await client.get("/console/outbox?status=sent")).text()
    last = await (await client.get("/console/outbox?status=sent&page=3")).text()
    beyond = await (await client.get("/console/outbox?status=sent&page=99")).text()

    def texts(html: str) -> list[str]:
        return re.findall(r"第 (\d+) 条", html)

    assert texts(first) == [str(n) for n in range(119, 69, -1)]
    assert texts(last) == [str(n) for n in range(19, -1, -1)]
    assert texts(beyond) == texts(last)
    assert "第 1 / 3 页" in first and 'href="?status=sent&page=2" rel="next">下一页' in first
    assert 'rel="prev">上一页' in last and "下一页" not in last

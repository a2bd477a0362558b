"""Red-packet thresholds as the groups, the course manager and ops read them: a threshold N is
reached when the stock comes down to N or below, every text says so in the same words (true
at exactly N too), and in a room the relay line of the order that reached it comes first,
then the announcement — through the real sender, with coalescing and retries."""

from __future__ import annotations

import random

from sqlalchemy import func, select, update

from bot.base.config import RateLimits
from bot.base.transport import TransportError
from bot.runtime.sender import OutboxSender
from models import Course, OutboxMessage, RedPacket
from tests.console_support import add_red_packets, log_in, make_account
from tests.fakes import FakeTransport
from tests.support import order_event, post_event
from tests.test_group_ops import MANAGER, XH1, XH2, FakeTime, run, say, texts

ANNOUNCEMENT = "🧧 星火思维秋季课 库存降到 100 份及以下（现余 100 份）！\n红包来啦，课程经理马上在群里发，大家继续冲～"


async def set_stock(services, stock: int) -> None:
    async with services.db.unit_of_work() as session:
        await session.execute(update(Course).where(Course.sku == "XH-MATH-S1").values(stock=stock))


async def sell(client, n: int, quantity: int = 1, ref: str = "DEMOC001") -> None:
    event = order_event(f"o-{n}", ref=ref, buyer=f"b-{n}", quantity=quantity, amount=f"{399 * quantity}.00")
    status, body = await post_event(client, event)
    assert status == 200, body


def sender(services, transport: FakeTransport, room_gap: int = 8) -> tuple[OutboxSender, FakeTime]:
    time = FakeTime(services)
    limits = RateLimits(account_interval_seconds=3, room_interval_seconds=room_gap, jitter_seconds=2)
    return OutboxSender(
        services, transport, limits, rng=random.Random(3), monotonic=time.monotonic, sleep=time.sleep
    ), time


async def drain(services, outbox: OutboxSender, time: FakeTime) -> None:
    """Send until the outbox is empty, waiting out room gaps and retry backoffs on fake time."""
    for _ in range(200):
        wait = await outbox.send_next()
        if wait is not None:
            await time.sleep(wait)
            continue
        async with services.db.reading() as session:
            later = await session.scalar(
                select(func.min(OutboxMessage.not_before)).where(OutboxMessage.status == "queued")
            )
        if later is None:
            return
        services.clock.at = later
    raise AssertionError("the outbox did not drain")


def read_in(transport: FakeTransport, room: str) -> list[str]:
    return [s.text for s in transport.sent if s.target == room]


async def test_at_exactly_100_left_every_text_says_the_stock_came_down_to_100_or_below(client, services):
    await run(services, say(MANAGER, "库存 XH-MATH-S1 101"))
    await sell(client, 1)
    await add_red_packets(services)
    await make_account(services, "xiaomei")
    await log_in(client, "xiaomei")

    stock_reply, announcement = await texts(services, XH1)
    [dm] = await texts(services, MANAGER)
    console = await (await client.get("/console/red-packets")).text()

    assert stock_reply == (
        "✅ 星火思维秋季课（XH-MATH-S1）库存已设为 101 份。\n下一个红包档：库存降到 100 份及以下时，群里宣布红包。"
    )
    assert announcement == ANNOUNCEMENT
    assert dm.startswith("星火思维：星火思维秋季课 库存降到 100 份及以下（现余 100 份），群里已宣布红包。")
    assert "库存降到 100 份及以下" in console
    assert not any("跌破" in text for text in (stock_reply, announcement, dm, console))


async def test_the_line_of_the_order_that_reaches_a_threshold_comes_before_the_red_packet(client, services):
    await set_stock(services, 116)
    await run(services, say(MANAGER, "开始接龙"))
    transport = FakeTransport()
    outbox, time = sender(services, transport)
    await sell(client, 1)
    await sell(client, 2, ref="DEMOC002")
    await drain(services, outbox, time)

    await sell(client, 3, quantity=17)  # 114 → 97: reaches 100
    await drain(services, outbox, time)

    for room in (XH1, XH2):
        *_, line, red_packet = read_in(transport, room)
        assert (line, red_packet) == ("3. 李** 出单 星火思维秋季课 ×17", ANNOUNCEMENT.replace("100 份）", "97 份）"))


async def test_a_red_packet_stays_between_the_line_that_reached_it_and_the_lines_after(client, services):
    await set_stock(services, 118)
    await run(services, say(MANAGER, "开始接龙"))
    await sell(client, 1)
    await sell(client, 2, quantity=17)  # 117 → 100
    await sell(client, 3, ref="DEMOC002")
    transport = FakeTransport()

    await drain(services, *sender(services, transport))

    assert read_in(transport, XH1)[1:] == [
        "1. 李** 出单 星火思维秋季课 ×1\n2. 李** 出单 星火思维秋季课 ×17",
        ANNOUNCEMENT,
        "3. 张** 出单 星火思维秋季课 ×1",
    ]


async def test_a_relay_line_waiting_to_be_retried_holds_back_the_red_packet_behind_it(client, services):
    await set_stock(services, 101)
    await run(services, say(MANAGER, "开始接龙"))
    transport = FakeTransport()
    outbox, time = sender(services, transport, room_gap=0)
    await drain(services, outbox, time)  # "开始接龙" is out

    await sell(client, 1)
    transport.fail_next = [TransportError("network")]  # the first send, room 1's relay line, fails once
    await drain(services, outbox, time)

    assert read_in(transport, XH1)[-2:] == ["1. 李** 出单 星火思维秋季课 ×1", ANNOUNCEMENT]
    assert read_in(transport, XH2)[-2:] == ["1. 李** 出单 星火思维秋季课 ×1", ANNOUNCEMENT]


async def test_a_threshold_reached_again_after_a_refund_put_the_stock_back_owes_no_second_red_packet(client, services):
    await set_stock(services, 102)
    await sell(client, 1, quantity=3)  # 102 → 99: reaches 100
    refund = order_event("o-1", type="refunded", amount="798.00", quantity=2, buyer="b-1", event_id="r-1")
    refunded, _ = await post_event(client, refund)  # two units back: 101
    await sell(client, 2)  # 101 → 100: reaches 100 a second time, and is accepted

    async with services.db.reading() as session:
        packets = await session.scalar(select(func.count(RedPacket.id)))
        announced = await session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.template == "red_packet_announcement")
        )
    assert refunded == 200
    assert (packets, announced) == (1, 2)  # one red packet owed, announced once in each of the brand's two groups

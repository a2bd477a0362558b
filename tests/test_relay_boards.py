"""A relay push's boards are what the push relayed: the group's "排行榜", the ops API's
``period=push`` and the final list at "结束接龙" agree line for line, whatever time the shop
says an order was paid; and the end always names the 出单王 (every one of them on a tie), or
says plainly that there is none."""

from __future__ import annotations

from datetime import timedelta

from tests.support import START, TOKEN, order_event, post_event
from tests.test_group_ops import MANAGER, XH1, XH2, rows, run, say, texts

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def board_text(services, room: str = XH1) -> str:
    return [r.text for r in await rows(services, room) if r.template == "leaderboard"][-1]


async def sell(client, order: str, ref: str, *, at=None, buyer: str | None = None, quantity: int = 1) -> None:
    event = order_event(order, ref=ref, buyer=buyer or f"b-{order}", quantity=quantity, amount=f"{399 * quantity}.00")
    if at is not None:
        event["occurred_at"] = at.isoformat()
    status, body = await post_event(client, event)
    assert (status, body["status"]) == (200, "accepted"), body


async def test_the_groups_board_lists_the_three_relayed_orders_though_the_shop_dated_them_before_the_push(
    client, services
):
    services.clock.advance(minutes=2)
    await run(services, say(MANAGER, "开始接龙 周末冲刺"))
    for n, ref in enumerate(["DEMOC001", "DEMOC002", "DEMOC001"]):  # paid a moment before, by the shop's clock
        await sell(client, f"o-{n}", ref, at=START + timedelta(seconds=n))

    await run(services, say("wx-lina", "排行榜", n=1))

    assert [t for t in await texts(services, XH1) if " 出单 " in t] == [
        "1. 李** 出单 星火思维秋季课 ×1",
        "2. 张** 出单 星火思维秋季课 ×1",
        "3. 李** 出单 星火思维秋季课 ×1",
    ]
    board = await board_text(services)
    assert board.startswith("🏆 星火思维 接龙「周末冲刺」销售额榜（进行中）\n🥇 李**  798.00 元\n🥈 张**  399.00 元\n")


async def test_a_second_push_ranks_its_two_relayed_lines_and_the_api_and_the_final_list_agree(client, services):
    await run(services, say(MANAGER, "开始接龙 第一轮"))
    await sell(client, "first", "DEMOB001")
    services.clock.advance(minutes=10)
    await run(services, say(MANAGER, "结束接龙", n=1))
    services.clock.advance(minutes=10)
    await run(services, say(MANAGER, "开始接龙 第二轮", n=2))
    await sell(client, "o-a", "DEMOC001")
    await sell(client, "o-b", "DEMOC002", at=services.clock.now() - timedelta(minutes=15))  # an older paid time

    await run(services, say("wx-lina", "排行榜", n=3))
    api = await (await client.get("/api/brands/xinghuo/leaderboard?period=push", headers=AUTH)).json()
    services.clock.advance(minutes=1)
    await run(services, say(MANAGER, "结束接龙", n=4))

    assert "🥇 李**  399.00 元\n🥇 张**  399.00 元\n" in await board_text(services)
    assert [(r["rank"], r["seller"], r["value"]) for r in api["rows"]] == [(1, "李**", "399.00"), (1, "张**", "399.00")]
    assert (api["push"]["title"], api["push"]["lines"]) == ("第二轮", 2)
    for room in (XH1, XH2):
        *_, final, top = await texts(services, room)
        assert final == (
            "🏁 星火思维出单接龙「第二轮」结束，共 2 单\n1. 李** 星火思维秋季课 ×1\n2. 张** 星火思维秋季课 ×1"
        )
        assert top == (
            "🏆 本次接龙出单王（第二轮）：李**、张**，并列第一，各 399.00 元！\n"
            "🥇 李**  399.00 元\n🥇 张**  399.00 元\n恭喜！大家辛苦啦～"
        )


async def test_the_end_of_a_push_names_everyone_tied_on_the_podium_not_just_three(client, services):
    await run(services, say(MANAGER, "开始接龙"))
    await sell(client, "big", "DEMOA001", quantity=2)
    for n, ref in enumerate(["DEMOC001", "DEMOC002", "DEMOB001"]):
        await sell(client, f"o-{n}", ref)

    await run(services, say(MANAGER, "结束接龙", n=1))

    assert (await texts(services, XH2))[-1] == (
        "🏆 本次接龙出单王：林**，销售额 798.00 元！\n"
        "🥇 林**  798.00 元\n🥈 李**  399.00 元\n🥈 张**  399.00 元\n🥈 王**  399.00 元\n恭喜！大家辛苦啦～"
    )


async def test_a_push_without_orders_ends_saying_plainly_there_is_no_出单王_this_time(services):
    await run(services, say(MANAGER, "开始接龙 冲刺"))

    await run(services, say(MANAGER, "结束接龙", n=1))

    for room in (XH1, XH2):
        assert (await texts(services, room))[-2:] == [
            "🏁 星火思维出单接龙「冲刺」结束，这次还没有出单",
            "🏁 本次接龙（冲刺）没有出单，这次没有出单王。下次接龙，第一单等你来拿！",
        ]


async def test_a_push_whose_orders_were_all_refunded_ends_without_an_出单王_and_says_why(client, services):
    await run(services, say(MANAGER, "开始接龙"))
    await sell(client, "o-1", "DEMOC001")
    await post_event(client, order_event("o-1", type="refunded", amount="399.00", quantity=1))

    await run(services, say(MANAGER, "结束接龙", n=1))

    final, top = (await texts(services, XH1))[-2:]
    assert final.endswith("1. 李** 星火思维秋季课 ×1（已退款）")
    assert top == "🏁 本次接龙的 1 单都已退款，这次没有出单王。下次接龙再冲～"

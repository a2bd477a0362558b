"""The console's overview: today in figures, the last 14 days of the platform's calendar as
charts (revenue and orders per day stacked by brand, new distributors per day), each brand's
fortnight, and the outbox's health; a manager sees their brands only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.console.charts import axis_top, column_chart
from models import OutboxMessage
from tests.console_support import log_in, make_account
from tests.support import START, order_event, post_event

# START is 2026-11-25 10:00 in Shanghai: the window is 11-12 … 11-25, local days.
ORDERS = [
    ("o-today", "XH-MATH-S1", "399.00", START),
    ("o-just-after-midnight", "XH-MATH-S1", "399.00", datetime(2026, 11, 24, 16, 30, tzinfo=UTC)),  # 11-25 00:30
    ("o-yesterday", "XH-MATH-S1", "399.00", START - timedelta(days=1)),
    ("o-huiben", "HB-YEAR", "1280.00", datetime(2026, 11, 20, 4, 0, tzinfo=UTC)),
    ("o-first-day", "XH-MATH-S1", "399.00", datetime(2026, 11, 11, 16, 0, tzinfo=UTC)),  # 11-12 00:00
    ("o-too-old", "XH-MATH-S1", "399.00", datetime(2026, 11, 11, 15, 59, tzinfo=UTC)),  # 11-11 23:59
]


async def sell(client) -> None:
    for n, (order, sku, amount, at) in enumerate(ORDERS):
        status, body = await post_event(client, order_event(order, sku=sku, amount=amount, at=at, buyer=f"b-{n}"))
        assert status == 200, body


def titles(html: str, chart: str) -> list[str]:
    svg = re.search(rf'<svg[^>]*data-chart="{chart}".*?</svg>', html, re.S).group(0)
    return re.findall(r"<rect [^>]*><title>([^<]*)</title>", svg)


def day_labels(html: str, chart: str) -> list[str]:
    svg = re.search(rf'<svg[^>]*data-chart="{chart}".*?</svg>', html, re.S).group(0)
    return re.findall(r'text-anchor="middle" class="tick">(\d\d-\d\d)<', svg)


async def test_ops_see_fourteen_local_days_of_revenue_and_orders_per_brand_as_charts(client, services):
    await sell(client)
    await make_account(services, "xiaomei")
    await log_in(client, "xiaomei")

    html = await (await client.get("/console")).text()

    assert day_labels(html, "revenue") == [f"11-{d}" for d in range(12, 26)]
    assert titles(html, "revenue") == [
        "11-12 星火思维：399.00 元",
        "11-20 绘本岛：1,280.00 元",
        "11-24 星火思维：399.00 元",
        "11-25 星火思维：798.00 元",  # 00:30 Shanghai is today, although 11-24 in UTC
    ]
    assert titles(html, "orders") == [
        "11-12 星火思维：1 单", "11-20 绘本岛：1 单", "11-24 星火思维：1 单", "11-25 星火思维：2 单"
    ]  # fmt: skip
    assert 'data-figure="orders">2<' in html and 'data-figure="revenue">798.00<' in html
    table = re.search(r'<table id="brand-fortnight">.*?</table>', html, re.S).group(0)
    rows = [re.sub(r"<[^>]+>|\s+", " ", row).split() for row in re.findall(r"<tr><td>.*?</tr>", table, re.S)]
    assert rows[:2] == [["星火思维", "4", "1,596.00", "2", "798.00"], ["绘本岛", "1", "1,280.00", "0", "0.00"]]


async def test_ops_see_new_distributors_per_day_and_the_outbox_health(client, services):
    async with services.db.unit_of_work() as session:
        session.add_all(
            [
                OutboxMessage(account="helper", kind="text", target="wx-lina", template="t", text="a",
                              created_at=START - timedelta(minutes=20), not_before=START),
                OutboxMessage(account="helper", kind="text", target="wx-lina", template="t", text="b",
                              created_at=START, not_before=START),
                OutboxMessage(account="helper", kind="text", target="wx-lina", template="t", text="c", status="dead",
                              created_at=START, not_before=START),
            ]
        )  # fmt: skip
    await make_account(services, "xiaomei")
    await log_in(client, "xiaomei")

    html = await (await client.get("/console")).text()

    assert titles(html, "newcomers") == ["11-25 新增分销员：4 人"]  # the demo distributors, seeded at START
    health = re.search(r'<section class="card"[^>]*id="outbox-health">.*?</section>', html, re.S).group(0)
    assert re.search(r'data-health="queued"><a [^>]*>2<', health)
    assert 'data-health="oldest">20 分钟前<' in health and "11-25 09:40" in health  # Shanghai time
    assert re.search(r'data-health="dead"><a [^>]*>1<', health) and "有失败消息" in health


async def test_a_manager_sees_their_brands_days_without_newcomers_or_the_outbox(client, services):
    await sell(client)
    await make_account(services, "zhaolin", "manager", ["huiben"])
    await log_in(client, "zhaolin")

    html = await (await client.get("/console")).text()

    assert titles(html, "revenue") == ["11-20 绘本岛：1,280.00 元"]
    assert 'data-chart="newcomers"' not in html and "outbox-health" not in html and "星火思维" not in html


@pytest.mark.parametrize(
    ("value", "top"), [("0", "4"), ("3", "4"), ("9", "20"), ("90", "100"), ("399", "400"), ("7581", "8000")]
)
def test_an_axis_reaches_the_largest_value_in_four_round_steps(value, top):
    assert axis_top(Decimal(value)) == Decimal(top)


def test_stacked_columns_put_each_brand_on_the_one_below_and_scale_to_the_axis():
    series = [("A", [Decimal("100"), Decimal(0)]), ("B", [Decimal("300"), Decimal(50)])]

    chart = column_chart(["11-24", "11-25"], series, money=True, unit="元")

    first, second = chart["columns"]
    a, b = first["segments"]
    assert (a["y"], a["height"], b["height"]) == ("141.0", "43.0", "129.0")  # 400 fills the 172-pixel plot
    assert float(b["y"]) + float(b["height"]) == float(a["y"])
    assert [s["title"] for s in second["segments"]] == ["11-25 B：50.00 元"]
    assert [g["text"] for g in chart["gridlines"]] == ["0.00", "100.00", "200.00", "300.00", "400.00"]

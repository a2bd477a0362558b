"""The ops API as an ops user sees it: earnings, upgrade progress, leaderboards and stock,
on every database the suite runs on. Orders come in through the real signed webhook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from models import Course, Distributor, LedgerLine, RedPacket, RelayPush
from services.settlement import settle_pass
from tests.support import START, TOKEN, order_event, post_event

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def get(client, path: str, status: int = 200) -> Any:
    response = await client.get(path, headers=AUTH)
    body = await response.json()
    assert response.status == status, body
    return body


async def sell(client, order_id: str, ref: str, *, buyer: str | None = None, at: datetime = START, **extra) -> None:
    status, body = await post_event(
        client, order_event(order_id, ref=ref, buyer=buyer or f"b-{order_id}", at=at, **extra)
    )
    assert (status, body["status"]) == (200, "accepted"), body


def board(body: dict[str, Any]) -> list[tuple[int, str, Any]]:
    return [(row["rank"], row["seller"], row["value"]) for row in body["rows"]]


@pytest.mark.parametrize(
    "path",
    [
        "/api/distributors/DEMOC001/earnings",
        "/api/distributors/DEMOC001/progress",
        "/api/brands/xinghuo/leaderboard",
        "/api/brands/xinghuo/stock",
    ],
)
async def test_every_ops_endpoint_answers_401_without_the_admin_token_or_with_a_wrong_one(client, path):
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": TOKEN}):
        response = await client.get(path, headers=headers)
        assert response.status == 401
        assert (await response.json())["status"] == "unauthorized"


# --- earnings ---


async def test_earnings_of_a_c_who_sold_one_course_show_144_pending_as_seller_commission(client, services):
    await sell(client, "o-1", "DEMOC001")

    body = await get(client, "/api/distributors/DEMOC001/earnings")

    assert body["distributor"] == {"code": "DEMOC001", "name": "李娜", "level": "C"}
    assert body["totals"] == {
        "pending": "144.00",
        "settled": "0.00",
        "cancelled": "0.00",
        "paid_out": "0.00",
        "balance": "0.00",
    }
    assert body["by_kind"] == {"seller": "144.00", "management": "0.00", "invite": "0.00", "partner": "0.00"}
    assert (body["month"], body["this_month"]) == ("2026-11", "144.00")
    assert body["lines"] == [
        {
            "at": "2026-11-25T10:00:00+08:00",
            "order_id": "o-1",
            "kind": "seller",
            "entry": "earned",
            "amount": "144.00",
            "reason": "sale",
            "course": "星火思维秋季课",
        }
    ]


async def test_earnings_of_the_recruiter_show_the_7_20_management_commission(client, services):
    await sell(client, "o-1", "DEMOC001")

    body = await get(client, "/api/distributors/DEMOB001/earnings")

    assert body["distributor"]["name"] == "王芳"
    assert body["totals"]["pending"] == "7.20"
    assert body["by_kind"]["management"] == "7.20"


async def test_earnings_become_settled_after_the_refund_window_and_the_settled_line_comes_first(client, services):
    await sell(client, "o-1", "DEMOC001")
    services.clock.advance(days=8)
    await settle_pass(services)

    body = await get(client, "/api/distributors/DEMOC001/earnings")

    assert body["totals"] == {
        "pending": "0.00",
        "settled": "144.00",
        "cancelled": "0.00",
        "paid_out": "0.00",
        "balance": "144.00",
    }
    assert [(line["entry"], line["reason"], line["amount"]) for line in body["lines"]] == [
        ("settled", "refund_window_passed", "144.00"),
        ("earned", "sale", "144.00"),
    ]


async def pay_out(services, code: str, amount: str) -> None:
    """The platform transferred ``amount`` to the distributor: a paid_out line, no order."""
    async with services.db.unit_of_work() as session:
        person = await session.scalar(select(Distributor).where(Distributor.code == code))
        session.add(
            LedgerLine(
                distributor_id=person.id,
                order_id=None,
                kind=None,
                entry="paid_out",
                amount=-Decimal(amount),
                reason="payout",
                at=services.clock.now(),
            )
        )


async def test_a_payout_lowers_the_balance_and_shows_as_a_line_without_an_order(client, services):
    await sell(client, "o-1", "DEMOC001")
    services.clock.advance(days=8)
    await settle_pass(services)
    await pay_out(services, "DEMOC001", "100.00")

    body = await get(client, "/api/distributors/DEMOC001/earnings")

    assert body["totals"] == {
        "pending": "0.00", "settled": "144.00", "cancelled": "0.00", "paid_out": "100.00", "balance": "44.00"
    }  # fmt: skip
    assert body["lines"][0] == {
        "at": "2026-12-03T10:00:00+08:00",
        "order_id": None,
        "kind": None,
        "entry": "paid_out",
        "amount": "-100.00",
        "reason": "payout",
        "course": None,
    }


async def test_a_refund_of_money_already_paid_out_leaves_a_negative_balance(client, services):
    await sell(client, "o-1", "DEMOC001")
    services.clock.advance(days=8)
    await settle_pass(services)
    await pay_out(services, "DEMOC001", "144.00")
    refund = order_event("o-1", type="refunded", amount="399.00", quantity=0, at=services.clock.now())
    status, _ = await post_event(client, refund, at=services.clock.now())
    assert status == 200

    body = await get(client, "/api/distributors/DEMOC001/earnings")

    assert body["totals"] == {
        "pending": "0.00", "settled": "0.00", "cancelled": "0.00", "paid_out": "144.00", "balance": "-144.00"
    }  # fmt: skip
    assert body["lines"][0]["entry"] == "adjusted" and body["lines"][0]["amount"] == "-144.00"


async def test_a_refund_inside_the_window_shows_as_cancelled_and_lowers_pending(client, services):
    await sell(client, "o-1", "DEMOC001")
    status, _ = await post_event(client, order_event("o-1", type="refunded", amount="133.00", quantity=0))
    assert status == 200

    body = await get(client, "/api/distributors/DEMOC001/earnings")

    assert body["totals"] == {
        "pending": "96.00",
        "settled": "0.00",
        "cancelled": "48.00",
        "paid_out": "0.00",
        "balance": "0.00",
    }
    assert body["by_kind"]["seller"] == "96.00"
    assert body["lines"][0]["entry"] == "cancelled"
    assert body["lines"][0]["amount"] == "-48.00"


async def test_this_month_follows_the_shanghai_calendar_not_utc(client, services):
    # 2026-10-31 17:00 UTC is 1 November 01:00 in Shanghai: this month; 15:00 UTC is still October there.
    await sell(client, "o-november", "DEMOC001", at=datetime(2026, 10, 31, 17, 0, tzinfo=UTC))
    await sell(client, "o-october", "DEMOC001", at=datetime(2026, 10, 31, 15, 0, tzinfo=UTC))

    body = await get(client, "/api/distributors/DEMOC001/earnings")

    assert body["totals"]["pending"] == "288.00"
    assert body["this_month"] == "144.00"


async def test_earnings_list_only_the_latest_20_lines_newest_first(client, services):
    for n in range(11):
        services.clock.at = START + timedelta(minutes=n)
        await sell(client, f"o-{n:02}", "DEMOC001", at=services.clock.at)
    services.clock.advance(days=8)
    await settle_pass(services)

    body = await get(client, "/api/distributors/DEMOC001/earnings")

    assert body["totals"]["settled"] == "1584.00"  # 11 × 144.00
    assert len(body["lines"]) == 20
    assert [line["entry"] for line in body["lines"]] == ["settled"] * 11 + ["earned"] * 9
    assert [line["order_id"] for line in body["lines"][11:]] == [f"o-{n:02}" for n in range(10, 1, -1)]


async def test_earnings_of_a_distributor_who_earned_nothing_are_all_zero(client, services):
    body = await get(client, "/api/distributors/DEMOA001/earnings")

    assert body["totals"] == {
        "pending": "0.00",
        "settled": "0.00",
        "cancelled": "0.00",
        "paid_out": "0.00",
        "balance": "0.00",
    }
    assert set(body["by_kind"].values()) == {"0.00"}
    assert (body["this_month"], body["lines"]) == ("0.00", [])


async def test_earnings_of_an_unknown_code_answer_404(client, services):
    body = await get(client, "/api/distributors/NOSUCH01/earnings", status=404)

    assert body["status"] == "not_found"
    assert "NOSUCH01" in body["reason"]


async def test_a_code_typed_in_lower_case_finds_the_distributor(client, services):
    body = await get(client, "/api/distributors/democ001/earnings")

    assert body["distributor"]["code"] == "DEMOC001"


# --- progress ---


async def test_progress_of_a_c_after_one_sale_shows_both_condition_sets_and_the_closest(client, services):
    await sell(client, "o-1", "DEMOC001")

    body = await get(client, "/api/distributors/DEMOC001/progress")

    assert (body["level"], body["next_level"], body["eligible"]) == ("C", "B", False)
    first, second = body["sets"]
    assert first["conditions"] == [
        {"metric": "promoted_sales", "current": "399.00", "target": "10000.00", "percent": 3, "missing": "9601.00",
         "met": False},
        {"metric": "customers", "current": 1, "target": 20, "percent": 5, "missing": 19, "met": False},
    ]  # fmt: skip
    assert [(c["metric"], c["percent"], c["missing"]) for c in second["conditions"]] == [
        ("promoted_sales", 13, "2601.00"),
        ("direct_vips", 0, 5),
    ]
    assert (first["completion"], second["completion"]) == (4, 6)
    assert body["closest"] == 1


async def test_progress_of_a_top_level_partner_has_no_next_level(client, services):
    body = await get(client, "/api/distributors/DEMOA001/progress")

    assert body == {
        "distributor": {"code": "DEMOA001", "name": "林晓", "level": "A"},
        "level": "A",
        "next_level": None,
        "eligible": False,
        "closest": None,
        "sets": [],
    }


async def test_progress_of_an_unknown_code_answers_404(client, services):
    body = await get(client, "/api/distributors/NOSUCH01/progress", status=404)

    assert body["status"] == "not_found"


# --- leaderboard ---


async def test_the_leaderboard_ranks_sellers_by_amount_net_of_refunds_with_masked_names(client, services):
    await sell(client, "o-1", "DEMOC001")
    await sell(client, "o-2", "DEMOC001")
    await sell(client, "o-3", "DEMOC002")
    await sell(client, "o-4", "DEMOB001")
    await post_event(client, order_event("o-4", type="refunded", amount="100.00", quantity=0))
    await post_event(client, order_event("o-5", buyer="walk-in"))  # no seller: not on the board

    body = await get(client, "/api/brands/xinghuo/leaderboard?period=all&metric=amount")

    assert body["brand"] == {"id": "xinghuo", "name": "星火思维"}
    assert board(body) == [(1, "李**", "798.00"), (2, "张**", "399.00"), (3, "王**", "299.00")]
    assert "DEMOC001" not in str(body) and "李娜" not in str(body)


async def test_equal_values_share_a_rank(client, services):
    await sell(client, "o-1", "DEMOC001")
    await sell(client, "o-2", "DEMOC002")
    await sell(client, "o-3", "DEMOB001")
    await sell(client, "o-4", "DEMOB001")

    body = await get(client, "/api/brands/xinghuo/leaderboard?metric=orders")

    assert board(body) == [(1, "王**", 2), (2, "李**", 1), (2, "张**", 1)]


async def test_new_customers_count_only_buyers_new_to_the_brand(client, services):
    await sell(client, "o-1", "DEMOC002", buyer="family-1")
    await sell(client, "o-2", "DEMOC002", buyer="family-1", sku="XH-TRIAL", amount="0.10")
    await sell(client, "o-3", "DEMOC001", buyer="family-2")

    orders = await get(client, "/api/brands/xinghuo/leaderboard?metric=orders")
    new = await get(client, "/api/brands/xinghuo/leaderboard?metric=new_customers")

    assert board(orders) == [(1, "张**", 2), (2, "李**", 1)]
    assert board(new) == [(1, "李**", 1), (1, "张**", 1)]


async def test_today_week_and_month_start_at_shanghai_midnight_monday_and_the_first(client, services):
    # The clock reads Wednesday 25 November 2026, 10:00 in Shanghai.
    await sell(client, "today-early", "DEMOC001", at=datetime(2026, 11, 24, 17, 0, tzinfo=UTC))  # 25th 01:00 local
    await sell(client, "yesterday", "DEMOC002", at=datetime(2026, 11, 24, 15, 30, tzinfo=UTC))  # 24th 23:30 local
    await sell(client, "monday", "DEMOB001", at=datetime(2026, 11, 22, 16, 30, tzinfo=UTC))  # Mon 23rd 00:30
    await sell(client, "sunday", "DEMOB001", at=datetime(2026, 11, 22, 15, 30, tzinfo=UTC), buyer="b-2")  # Sun 23:30
    await sell(client, "october", "DEMOC002", at=datetime(2026, 10, 20, 2, 0, tzinfo=UTC))

    async def sellers(period: str) -> dict[str, int]:
        body = await get(client, f"/api/brands/xinghuo/leaderboard?period={period}&metric=orders")
        return {row["seller"]: row["value"] for row in body["rows"]}

    assert await sellers("today") == {"李**": 1}
    assert await sellers("week") == {"李**": 1, "张**": 1, "王**": 1}
    assert await sellers("month") == {"李**": 1, "张**": 1, "王**": 2}
    assert await sellers("all") == {"李**": 1, "张**": 2, "王**": 2}
    today = await get(client, "/api/brands/xinghuo/leaderboard?period=today")
    assert (today["from"], today["to"]) == ("2026-11-25T00:00:00+08:00", None)


async def start_push(services, started_at: datetime, ended_at: datetime | None = None, title: str = "双11") -> None:
    async with services.db.unit_of_work() as session:
        session.add(RelayPush(brand_id="xinghuo", title=title, started_at=started_at, ended_at=ended_at))


async def end_push(services, ended_at: datetime) -> None:
    async with services.db.unit_of_work() as session:
        await session.execute(update(RelayPush).where(RelayPush.ended_at.is_(None)).values(ended_at=ended_at))


async def test_the_push_board_counts_only_the_orders_the_open_push_relayed(client, services):
    await sell(client, "before", "DEMOC002", at=START - timedelta(hours=2))
    await start_push(services, START - timedelta(hours=1))
    await sell(client, "during-1", "DEMOC001")
    await sell(client, "during-2", "DEMOB001")

    body = await get(client, "/api/brands/xinghuo/leaderboard?period=push")

    assert board(body) == [(1, "李**", "399.00"), (1, "王**", "399.00")]  # a tie: first relayed first
    assert body["push"]["open"] is True
    assert body["push"]["title"] == "双11"
    assert body["to"] == "2026-11-25T10:00:00+08:00"


async def test_without_an_open_push_the_board_shows_the_most_recent_push(client, services):
    await start_push(services, START - timedelta(days=3), title="old")
    await sell(client, "in-old", "DEMOB001", at=START - timedelta(minutes=3))
    await end_push(services, START - timedelta(days=2))
    await start_push(services, START - timedelta(hours=5), title="recent")
    await sell(client, "during", "DEMOC001", at=START - timedelta(hours=2))
    await end_push(services, START - timedelta(hours=1))
    await sell(client, "after", "DEMOC002", at=START - timedelta(minutes=30))

    body = await get(client, "/api/brands/xinghuo/leaderboard?period=push")

    assert body["push"]["title"] == "recent" and body["push"]["open"] is False
    assert board(body) == [(1, "李**", "399.00")]


async def test_a_brand_that_never_ran_a_push_has_an_empty_push_board(client, services):
    await sell(client, "o-1", "DEMOC001")

    body = await get(client, "/api/brands/xinghuo/leaderboard?period=push")

    assert (body["push"], body["rows"]) == (None, [])


async def test_the_leaderboard_limit_keeps_the_top_rows(client, services):
    await sell(client, "o-1", "DEMOC001")
    await sell(client, "o-2", "DEMOC001")
    await sell(client, "o-3", "DEMOC002")

    body = await get(client, "/api/brands/xinghuo/leaderboard?limit=1")

    assert board(body) == [(1, "李**", "798.00")]


@pytest.mark.parametrize(
    ("query", "field"),
    [("period=year", "period"), ("metric=profit", "metric"), ("limit=0", "limit"), ("limit=101", "limit"),
     ("limit=ten", "limit")],
)  # fmt: skip
async def test_a_bad_leaderboard_query_answers_422_with_the_allowed_values(client, services, query, field):
    body = await get(client, f"/api/brands/xinghuo/leaderboard?{query}", status=422)

    assert body["errors"][0].startswith(f"{field}:")
    assert body["allowed"] == {
        "period": ["today", "week", "month", "push", "all"],
        "metric": ["amount", "orders", "new_customers"],
        "limit": [1, 100],
    }


async def test_the_leaderboard_of_an_unknown_brand_answers_404(client, services):
    body = await get(client, "/api/brands/nosuch/leaderboard", status=404)

    assert body["status"] == "not_found"


# --- stock ---


async def test_stock_shows_each_course_with_its_next_threshold_and_no_red_packets_yet(client, services):
    body = await get(client, "/api/brands/xinghuo/stock")

    assert body == {
        "brand": {"id": "xinghuo", "name": "星火思维"},
        "courses": [
            {"sku": "XH-MATH-S1", "name": "星火思维秋季课", "stock": 300, "thresholds": [100, 50, 10],
             "next_threshold": 100, "red_packets": []},
            {"sku": "XH-TRIAL", "name": "星火思维 0.1 元体验课", "stock": None, "thresholds": [],
             "next_threshold": None, "red_packets": []},
        ],
        "unpaid_red_packets": 0,
    }  # fmt: skip


async def test_selling_down_to_a_threshold_lists_the_red_packet_owed_until_it_is_paid(client, services):
    await sell(client, "o-big", "DEMOC001", quantity=200, amount="79800.00")

    body = await get(client, "/api/brands/xinghuo/stock")
    math = body["courses"][0]
    assert (math["stock"], math["next_threshold"]) == (100, 50)
    assert math["red_packets"] == [{"threshold": 100, "created_at": "2026-11-25T10:00:00+08:00", "paid": False}]
    assert body["unpaid_red_packets"] == 1

    async with services.db.unit_of_work() as session:
        await session.execute(update(RedPacket).values(paid_at=START + timedelta(hours=1), paid_by="mgr-zhaolin"))
    body = await get(client, "/api/brands/xinghuo/stock")
    assert body["courses"][0]["red_packets"][0]["paid"] is True
    assert body["unpaid_red_packets"] == 0


async def test_red_packets_of_an_earlier_stock_epoch_leave_the_course_but_stay_in_the_unpaid_count(client, services):
    await sell(client, "o-big", "DEMOC001", quantity=200, amount="79800.00")
    async with services.db.unit_of_work() as session:
        await session.execute(
            update(Course).where(Course.sku == "XH-MATH-S1").values(stock=500, stock_epoch=Course.stock_epoch + 1)
        )

    body = await get(client, "/api/brands/xinghuo/stock")

    math = body["courses"][0]
    assert (math["stock"], math["next_threshold"], math["red_packets"]) == (500, 100, [])
    assert body["unpaid_red_packets"] == 1


async def test_the_stock_of_an_unknown_brand_answers_404(client, services):
    body = await get(client, "/api/brands/nosuch/stock", status=404)

    assert body["status"] == "not_found"


async def test_money_paid_out_and_then_refunded_leaves_the_distributor_owing_it(client, services):
    await post_event(client, order_event("o-1", ref="DEMOC001"))
    services.clock.advance(days=8)
    await settle_pass(services)

    paid = await client.post(
        "/api/distributors/DEMOC001/payouts", json={"amount": "144.00", "note": "11月"}, headers=AUTH
    )
    too_much = await client.post("/api/distributors/DEMOC001/payouts", json={"amount": "0.01"}, headers=AUTH)
    refund = order_event("o-1", type="refunded", amount="399.00", quantity=1, at=services.clock.now())
    await post_event(client, refund, at=services.clock.now())
    earnings = await (await client.get("/api/distributors/DEMOC001/earnings", headers=AUTH)).json()

    assert (paid.status, (await paid.json())["balance"]) == (200, "0.00")
    assert too_much.status == 409 and "more than the balance" in (await too_much.json())["reason"]
    assert (earnings["totals"]["paid_out"], earnings["totals"]["balance"]) == ("144.00", "-144.00")


async def test_a_payout_needs_a_token_a_known_code_and_an_amount(client, services):
    assert (await client.post("/api/distributors/DEMOC001/payouts", json={"amount": "1.00"})).status == 401
    unknown = await client.post("/api/distributors/NOBODY/payouts", json={"amount": "1.00"}, headers=AUTH)
    assert unknown.status == 404
    for body in ({}, {"amount": "abc"}, {"amount": None}, {"amount": [1]}):
        assert (await client.post("/api/distributors/DEMOC001/payouts", json=body, headers=AUTH)).status == 422

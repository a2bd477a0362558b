"""Order events through the signed webhook, on every database the suite runs on."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from models import Course, LedgerLine, Order, OrderEvent, OutboxMessage
from tests.support import START, order_event, post_event, signed_headers


async def rows(services, model) -> int:
    async with services.db.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(model)))


async def test_a_paid_order_with_a_c_distributors_code_pays_the_c_144_and_her_b_recruiter_7_20(client, services):
    status, body = await post_event(client, order_event("o-1", ref="DEMOC001"))

    assert status == 200, body
    assert body["status"] == "accepted"
    assert body["seller"] == "DEMOC001"
    assert {(p["distributor"], p["kind"], p["amount"]) for p in body["payouts"]} == {
        ("DEMOC001", "seller", "144.00"),
        ("DEMOB001", "management", "7.20"),
    }
    assert body["stock"] == 299
    async with services.db.reading() as session:
        texts = {m.target: m.text for m in await session.scalars(select(OutboxMessage))}
    assert "144.00" in texts["wx-lina"] and "销售佣金" in texts["wx-lina"]
    assert "7.20" in texts["wx-wangfang"] and "管理佣金" in texts["wx-wangfang"]


async def test_a_replayed_event_is_answered_duplicate_and_changes_nothing(client, services):
    await post_event(client, order_event("o-1", ref="DEMOC001"))
    before = (await rows(services, LedgerLine), await rows(services, OutboxMessage))

    status, body = await post_event(client, order_event("o-1", ref="DEMOC001"))

    assert (status, body["status"]) == (200, "duplicate")
    assert (await rows(services, LedgerLine), await rows(services, OutboxMessage)) == before


async def test_a_bad_signature_is_refused_with_401_and_nothing_is_written(client, services):
    body = json.dumps(order_event("o-1")).encode()
    headers = signed_headers(body, secret="not-the-secret")

    response = await client.post("/webhooks/orders", data=body, headers=headers)

    assert response.status == 401
    assert await rows(services, Order) == 0


async def test_a_timestamp_older_than_five_minutes_is_refused_with_401(client, services):
    body = json.dumps(order_event("o-1")).encode()
    headers = signed_headers(body, at=START - timedelta(seconds=301))

    response = await client.post("/webhooks/orders", data=body, headers=headers)

    assert response.status == 401
    assert "±300" in (await response.json())["reason"]


async def test_a_malformed_event_gets_422_listing_every_problem(client, services):
    event = order_event("o-1")
    event["amount"] = "12.345"
    del event["course_sku"]

    status, body = await post_event(client, event)

    assert status == 422
    assert any(e.startswith("amount:") for e in body["errors"])
    assert any(e.startswith("course_sku:") for e in body["errors"])
    assert await rows(services, Order) == 0


async def test_an_unknown_sku_is_refused_with_a_reason_and_nothing_written(client, services):
    status, body = await post_event(client, order_event("o-1", sku="NO-SUCH"))

    assert status == 422
    assert body["errors"] == ["course_sku: unknown course sku 'NO-SUCH'"]
    assert await rows(services, Order) == 0


async def test_an_order_beyond_the_stock_is_refused_with_409_and_the_stock_is_untouched(client, services):
    status, body = await post_event(client, order_event("o-1", quantity=301, amount="120099.00"))

    assert status == 409
    assert body["code"] == "out_of_stock"
    async with services.db.reading() as session:
        assert await session.scalar(select(Course.stock).where(Course.sku == "XH-MATH-S1")) == 300


async def test_a_refund_larger_than_what_was_paid_is_refused_with_409(client, services):
    await post_event(client, order_event("o-1", ref="DEMOC001"))

    status, body = await post_event(client, order_event("o-1", type="refunded", amount="400.00", quantity=0))

    assert status == 409
    assert body["code"] == "refund_exceeds_paid"


async def test_a_refund_of_an_unknown_order_is_refused(client, services):
    status, body = await post_event(client, order_event("nope", type="refunded", amount="1.00", quantity=0))

    assert status == 422
    assert body["code"] == "unknown_order"


async def test_a_partial_refund_inside_the_window_cancels_commissions_pro_rata(client, services):
    await post_event(client, order_event("o-1", ref="DEMOC001"))

    status, body = await post_event(client, order_event("o-1", type="refunded", amount="133.00", quantity=0))

    assert status == 200, body
    assert {(c["kind"], c["amount"]) for c in body["clawed_back"]} == {("seller", "-48.00"), ("management", "-2.40")}
    async with services.db.reading() as session:
        net = await session.scalar(select(func.sum(LedgerLine.amount)))
    assert net == Decimal("100.80")  # (144.00 + 7.20) × 266/399


async def test_amounts_that_are_not_numbers_or_are_absurdly_large_get_422_not_an_error(client, services):
    for amount in (None, True, [], {}, "1000000000.00"):
        event = order_event("o-1")
        event["amount"] = amount
        status, body = await post_event(client, event)
        assert status == 422, (amount, body)
        assert any(e.startswith("amount:") for e in body["errors"])
    event = order_event("o-1")
    event["occurred_at"] = 10**20
    status, body = await post_event(client, event)
    assert status == 422
    assert body["errors"] == ["occurred_at: not a Unix time in seconds"]


async def test_an_order_paid_seven_or_nine_minutes_ahead_of_the_server_clock_is_refused_and_nothing_written(
    client, services
):
    answers = [await post_event(client, order_event(f"o-{m}", at=START + timedelta(minutes=m))) for m in (7, 9)]
    within = await post_event(client, order_event("o-5", at=START + timedelta(minutes=5)))  # the allowed skew

    assert answers == [
        (422, {"status": "rejected", "errors": [f"occurred_at: is {m} minutes ahead of the server clock;"
                                                " at most 5 minutes are allowed"]})
        for m in (7, 9)
    ]  # fmt: skip
    assert (within[0], within[1]["status"]) == (200, "accepted")
    assert (await rows(services, Order), await rows(services, OrderEvent)) == (1, 1)


async def test_a_quantity_of_true_amounts_in_full_width_digits_or_with_underscores_and_old_dates_are_refused(
    client, services
):
    bad = {
        "quantity": ({"quantity": True}, "quantity: must be a whole number from 0 to 10000, e.g. 1"),
        "full-width": ({"amount": "３９９"}, 'amount: must be yuan in ASCII digits, e.g. "399.00"'),
        "underscore": ({"amount": "1_000"}, 'amount: must be yuan in ASCII digits, e.g. "399.00"'),
        "unix zero": ({"occurred_at": 0}, "occurred_at: is before 2015-01-01; no order of the platform is that old"),
        "1999": (
            {"occurred_at": "1999-12-31T23:59:59+08:00"},
            "occurred_at: is before 2015-01-01; no order of the platform is that old",
        ),
    }
    for what, (change, problem) in bad.items():
        status, body = await post_event(client, {**order_event(f"o-{what}"), **change})
        assert (status, body) == (422, {"status": "rejected", "errors": [problem]}), what
    assert [await rows(services, model) for model in (Order, OrderEvent, OutboxMessage)] == [0, 0, 0]


async def test_every_problem_of_an_event_is_listed_in_the_same_plain_form_the_unknown_sku_included(client, services):
    event = {**order_event("o-1", sku="NO-SUCH", at=START + timedelta(minutes=8)), "type": "sold", "quantity": "2.5"}
    del event["buyer"]

    status, body = await post_event(client, event)

    assert status == 422
    assert body["errors"] == [
        "type: must be one of paid, refunded, qualified, checkin_completed",
        "course_sku: unknown course sku 'NO-SUCH'",
        "quantity: must be a whole number from 0 to 10000, e.g. 1",
        "occurred_at: is 8 minutes ahead of the server clock; at most 5 minutes are allowed",
    ]
    paid_without_buyer = {**order_event("o-2"), "buyer": None}
    assert (await post_event(client, paid_without_buyer))[1]["errors"] == [
        "buyer: required for a paid event: {id, name, phone?}"
    ]
    refund_of_nothing = await post_event(client, order_event("nope", type="refunded", amount="1.00", quantity=0))
    assert refund_of_nothing == (
        422,
        {
            "status": "rejected",
            "code": "unknown_order",
            "reason": "no paid order 'nope' to apply a refunded event to",
            "errors": ["order_id: no paid order 'nope' to apply a refunded event to"],
        },
    )

"""What a caller of the HTTP API sees when a service refuses: one status code per kind of
error, and a body naming the outcome, the reason and every problem (bot.web.errors)."""

from __future__ import annotations

import json

import pytest

from bot.web.errors import error_response
from services.errors import Conflict, Duplicate, Invalid, NotFound, Refused, ServiceError, Unavailable

CASES = [
    (NotFound("no such message"), 404, {"status": "not_found", "reason": "no such message"}),
    (Invalid(["amount: must be yuan"]), 422, {"status": "rejected", "errors": ["amount: must be yuan"]}),
    (
        Invalid(["quantity: 3 more cannot be"], reason="3 more cannot be", code="refund_quantity"),
        422,
        {
            "status": "rejected",
            "code": "refund_quantity",
            "reason": "3 more cannot be",
            "errors": ["quantity: 3 more cannot be"],
        },
    ),
    (
        Refused("only 2 left of XH-MATH-S1, 3 ordered", code="out_of_stock"),
        409,
        {"status": "rejected", "code": "out_of_stock", "reason": "only 2 left of XH-MATH-S1, 3 ordered"},
    ),
    (
        Conflict("already marked paid", details={"paid_by": "ops-xiaomei"}),
        409,
        {"status": "rejected", "reason": "already marked paid", "paid_by": "ops-xiaomei"},
    ),
    (
        Duplicate(details={"event_id": "e-1", "order_id": "o-1"}),
        200,
        {"status": "duplicate", "event_id": "e-1", "order_id": "o-1"},
    ),
    (Unavailable("cannot reach the database"), 503, {"status": "unavailable", "reason": "cannot reach the database"}),
]


@pytest.mark.parametrize(("error", "status", "body"), CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_a_service_error_answers_with_the_status_code_and_body_of_its_kind(error: ServiceError, status, body):
    response = error_response(error)

    assert (response.status, json.loads(response.text)) == (status, body)


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (
            NotFound("no co-learning session has the id 9"),
            404,
            {"status": "not_found", "errors": ["no co-learning session has the id 9"]},
        ),
        (Conflict("the session is cancelled"), 409, {"status": "conflict", "errors": ["the session is cancelled"]}),
        (
            Invalid(["title: required", "ends_at: required"]),
            422,
            {"status": "rejected", "errors": ["title: required", "ends_at: required"]},
        ),
    ],
)
def test_the_co_learning_api_lists_every_problem_and_names_a_conflict_conflict(error, status, body):
    response = error_response(error, listed=True)

    assert (response.status, json.loads(response.text)) == (status, body)

"""The rules of 微信客服's reply window (core.kf_window), with the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.kf_window import Limits, Window, opened, refusal, spent

T = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
LIMITS = Limits(hours=48, messages=5)


def test_a_customer_who_never_wrote_gets_no_answer():
    assert refusal(None, T, LIMITS) == "has not written to 微信客服 in the last 48 hours"


def test_five_answers_go_within_48_hours_and_not_a_sixth():
    window = opened(None, T)
    for _ in range(5):
        assert refusal(window, T + timedelta(hours=47, minutes=59), LIMITS) is None
        window = spent(window)
    assert refusal(window, T + timedelta(hours=1), LIMITS) == "5 messages already sent since their last message"


def test_the_window_closes_48_hours_after_the_customers_message():
    assert refusal(opened(None, T), T + timedelta(hours=48), LIMITS) is not None


def test_a_new_message_opens_the_window_anew_and_a_late_fetched_older_one_changes_nothing():
    used = Window(T, sent=5)
    assert opened(used, T + timedelta(hours=2)) == Window(T + timedelta(hours=2), 0)
    assert opened(used, T - timedelta(hours=1)) == used
    assert opened(used, T) == used  # the same message seen twice

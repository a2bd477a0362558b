"""The co-learning rules: a session's moments, what to do with each given the clock, the relay
window, offsets as ops write them, and what makes a session plan valid."""

from __future__ import annotations

import doctest
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

import core.colearning
from core.colearning import (
    Decision,
    SessionPlan,
    check_session,
    decide,
    describe_minutes,
    in_window,
    minutes_until,
    moments,
    parse_offset,
)

START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
END = START + timedelta(hours=1)
GRACE = timedelta(minutes=10)
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def moment(key: str, reminders=(1440, 60, 10), cards=(30,)):
    return next(m for m in moments(START, END, reminders, cards) if m.key == key)


def test_the_worked_examples_in_the_module_hold():
    assert doctest.testmod(core.colearning).failed == 0


def test_a_session_has_its_reminders_then_start_then_cards_then_end_each_with_a_stable_key():
    found = moments(START, END, reminders=[10, 1440, 60], cards=[50, 30])

    assert [m.key for m in found] == [
        "reminder:1440",
        "reminder:60",
        "reminder:10",
        "start",
        "card:30",
        "card:50",
        "end",
    ]
    assert [m.at for m in found] == [
        START - timedelta(days=1),
        START - timedelta(hours=1),
        START - timedelta(minutes=10),
        START,
        START + timedelta(minutes=30),
        START + timedelta(minutes=50),
        END,
    ]


def test_a_card_at_minute_zero_comes_right_after_the_start_notice():
    assert [m.key for m in moments(START, END, [], [0])] == ["start", "card:0", "end"]


def test_the_same_offset_given_twice_is_one_reminder():
    assert [m.key for m in moments(START, END, [60, 60], [])] == ["reminder:60", "start", "end"]


@pytest.mark.parametrize(
    ("late", "expected"),
    [
        (timedelta(minutes=-1), Decision.WAIT),
        (timedelta(0), Decision.SEND),
        (timedelta(minutes=9, seconds=59), Decision.SEND),
        (timedelta(minutes=10), Decision.SEND),
        (timedelta(minutes=10, seconds=1), Decision.SKIP),
        (timedelta(hours=5), Decision.SKIP),
    ],
)
def test_a_reminder_missed_by_less_than_the_grace_time_is_still_sent_and_an_older_one_is_skipped(late, expected):
    one_hour = moment("reminder:60")

    assert decide(one_hour, one_hour.at + late, GRACE) is expected


def test_a_ten_minute_reminder_never_goes_out_once_the_session_has_started_even_within_the_grace_time():
    ten = moment("reminder:10")

    assert decide(ten, START - timedelta(seconds=1), timedelta(minutes=30)) is Decision.SEND
    assert decide(ten, START, timedelta(minutes=30)) is Decision.SKIP


def test_a_course_card_is_pointless_once_the_session_ended():
    card = replace(moment("card:30"), at=END - timedelta(minutes=5))

    assert decide(card, END - timedelta(minutes=1), GRACE) is Decision.SEND
    assert decide(card, END, GRACE) is Decision.SKIP


def test_the_end_notice_follows_the_grace_time_alone():
    end = moment("end")

    assert decide(end, END + timedelta(minutes=10), GRACE) is Decision.SEND
    assert decide(end, END + timedelta(minutes=11), GRACE) is Decision.SKIP


def test_the_relay_window_includes_the_start_and_excludes_the_end():
    assert in_window(START, END, START)
    assert in_window(START, END, END - timedelta(microseconds=1))
    assert not in_window(START, END, END)
    assert not in_window(START, END, START - timedelta(microseconds=1))


def test_a_reminder_says_the_minutes_actually_left_rounded_up():
    assert minutes_until(START, START - timedelta(minutes=60)) == 60
    assert minutes_until(START, START - timedelta(minutes=55, seconds=1)) == 56
    assert minutes_until(START, START + timedelta(minutes=1)) == 0
    assert describe_minutes(56) == "56 分钟"
    assert describe_minutes(0) == "0 分钟"


@pytest.mark.parametrize("bad", ["", "soon", "1x", "h", True, "-5m"])
def test_an_offset_that_is_not_one_is_refused_with_the_forms_that_work(bad):
    with pytest.raises(ValueError, match=r"not an offset"):
        parse_offset(bad)


PLAN = SessionPlan("数学思维公开课", "room-lecture", ["wx-teacher"], START, END, [1440, 60, 10], [30], has_course=True)


def test_a_plain_plan_is_valid():
    assert check_session(PLAN, NOW) == []


def test_every_problem_of_a_plan_is_listed_at_once_with_its_field():
    bad = replace(PLAN, title=" ", source_room="", reminders=[0, 99999], cards=[30, 60, 90], has_course=False)

    problems = check_session(bad, NOW)

    assert [p.split(":")[0] for p in problems] == ["title", "source_room", "reminders", "cards", "cards"]
    assert "not [60, 90]" in problems[3]


def test_a_session_cannot_start_in_the_past_or_last_more_than_twelve_hours():
    assert check_session(replace(PLAN, starts_at=NOW, ends_at=NOW + timedelta(hours=1)), NOW) == [
        "starts_at: the start must be in the future"
    ]
    assert check_session(replace(PLAN, ends_at=START + timedelta(hours=13)), NOW) == [
        "ends_at: a session lasts at most 12 小时"
    ]


def test_a_started_session_may_be_edited_as_long_as_its_end_is_still_ahead():
    during = START + timedelta(minutes=10)

    assert check_session(PLAN, during, started=True) == []
    assert check_session(replace(PLAN, ends_at=during, cards=[]), during, started=True) == [
        "ends_at: the end must be in the future"
    ]

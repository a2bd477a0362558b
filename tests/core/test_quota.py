"""The quota planner: one digest per window, none past the period's cap, relay lines kept in
order, leaderboards merged to the newest."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from core.quota import Waiting, anchored, busiest_anchor, period_of, plan_group, window_of

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
NOVEMBER = period_of("month", NOW)


def test_periods_are_the_calendar_day_the_week_from_monday_and_the_month():
    assert period_of("day", NOW) == (datetime(2026, 11, 25, tzinfo=SHANGHAI), datetime(2026, 11, 26, tzinfo=SHANGHAI))
    assert period_of("week", NOW) == (datetime(2026, 11, 23, tzinfo=SHANGHAI), datetime(2026, 11, 30, tzinfo=SHANGHAI))
    assert period_of("month", datetime(2026, 12, 31, 23, tzinfo=SHANGHAI)) == (
        datetime(2026, 12, 1, tzinfo=SHANGHAI), datetime(2027, 1, 1, tzinfo=SHANGHAI))


def test_a_digest_keeps_the_relay_lines_in_order_and_only_the_newest_leaderboard():
    waiting = [Waiting(1, "relay"), Waiting(2, "leaderboard"), Waiting(3, "relay"), Waiting(4, "leaderboard"),
               Waiting(5, "post")]

    plan = plan_group(waiting, now=NOW, period=NOVEMBER, allowed=30, posted=[])

    assert plan.send == (1, 3, 4, 5) and plan.superseded == (2,) and plan.wait_until is None
    assert plan.reason == "one digest of 2 relay lines, the newest leaderboard (1 older superseded), 1 other posts" \
                          " (cap 30 a period)"


def test_after_the_windows_post_everything_waits_for_the_next_window():
    plan = plan_group([Waiting(1, "relay")], now=NOW, period=NOVEMBER, allowed=30,
                      posted=[NOW - timedelta(hours=1)])

    assert plan.send == () and plan.wait_until == datetime(2026, 11, 26, tzinfo=SHANGHAI)
    assert plan.reason.startswith("one post per window of a day under a cap of 30")


def test_a_used_up_cap_waits_for_the_next_period():
    posted = [NOVEMBER[0] + timedelta(days=d) for d in range(7)]
    plan = plan_group([Waiting(1, "relay")], now=NOW, period=period_of("week", NOW), allowed=7, posted=posted)

    assert plan.send == () and plan.wait_until == datetime(2026, 11, 30, tzinfo=SHANGHAI)


@given(st.lists(st.integers(min_value=0, max_value=30 * 24 * 60 - 1), min_size=1, max_size=400))
def test_however_posts_arrive_a_month_never_holds_more_posts_than_its_cap(minutes):
    """Posts waiting at the given minutes of November; each time the planner lets a digest go,
    it is counted: never more than 30, never two in one window."""
    posted: list[datetime] = []
    waiting: list[Waiting] = []
    for n, minute in enumerate(sorted(minutes)):
        now = NOVEMBER[0] + timedelta(minutes=minute)
        waiting.append(Waiting(n, "relay"))
        plan = plan_group(waiting, now=now, period=NOVEMBER, allowed=30, posted=posted)
        if plan.send:
            posted.append(now)
            waiting = []
    assert len(posted) <= 30
    windows = [window_of(*NOVEMBER, 30, at) for at in posted]
    assert len(set(windows)) == len(windows)


def test_an_anchored_window_holds_its_post_until_the_anchor_and_then_sends_everything_waiting():
    waiting = [Waiting(1, "relay"), Waiting(2, "leaderboard"), Waiting(3, "relay")]

    morning = plan_group(waiting, now=NOW, period=NOVEMBER, allowed=30, posted=[], anchor=time(22))
    evening = plan_group(waiting, now=NOW.replace(hour=22), period=NOVEMBER, allowed=30, posted=[], anchor=time(22))

    assert morning.send == () and morning.wait_until == datetime(2026, 11, 25, 22, tzinfo=SHANGHAI)
    assert morning.reason == "the window's one post is anchored at 22:00: 3 waiting join that digest"
    assert evening.send == (1, 3, 2) and evening.wait_until is None


def test_after_an_anchored_post_the_later_lines_wait_for_the_next_days_anchor():
    posted = [NOW.replace(hour=22)]
    late = plan_group([Waiting(1, "relay")], now=NOW.replace(hour=23), period=NOVEMBER, allowed=30, posted=posted,
                      anchor=time(22))
    next_morning = plan_group([Waiting(1, "relay")], now=datetime(2026, 11, 26, 0, 5, tzinfo=SHANGHAI),
                              period=NOVEMBER, allowed=30, posted=posted, anchor=time(22))

    assert late.wait_until == datetime(2026, 11, 26, tzinfo=SHANGHAI)
    assert next_morning.wait_until == datetime(2026, 11, 26, 22, tzinfo=SHANGHAI)


def test_a_window_without_its_anchor_time_posts_as_soon_as_something_waits():
    window = (datetime(2026, 11, 25, 0, tzinfo=SHANGHAI), datetime(2026, 11, 25, 8, tzinfo=SHANGHAI))
    assert anchored(window, time(22)) is None
    assert anchored(window, time(7, 30)) == datetime(2026, 11, 25, 7, 30, tzinfo=SHANGHAI)
    assert anchored(window, None) is None


@given(st.lists(st.integers(min_value=0, max_value=30 * 24 * 60 - 1), min_size=1, max_size=300),
       st.integers(min_value=0, max_value=23))
def test_anchored_or_not_a_month_never_holds_more_posts_than_its_cap_nor_two_a_window(minutes, hour):
    posted: list[datetime] = []
    waiting: list[Waiting] = []
    for n, minute in enumerate(sorted(minutes)):
        now = NOVEMBER[0] + timedelta(minutes=minute)
        waiting.append(Waiting(n, "relay"))
        plan = plan_group(waiting, now=now, period=NOVEMBER, allowed=30, posted=posted, anchor=time(hour))
        if plan.send:
            posted.append(now)
            waiting = []
    assert len(posted) <= 30
    assert len({window_of(*NOVEMBER, 30, at) for at in posted}) == len(posted)


def test_the_busiest_anchor_is_the_push_whose_post_brings_most_lines_within_the_hour():
    day = NOW.replace(hour=0)
    lines = [(day.replace(hour=21, minute=m), day.replace(hour=22)) for m in (15, 40, 50)]
    lines.append((day.replace(hour=14, minute=20), day.replace(hour=15)))

    assert busiest_anchor(lines, timedelta(minutes=10)) == time(22)
    assert busiest_anchor(lines[3:], timedelta(minutes=10)) == time(15)
    assert busiest_anchor([], timedelta(minutes=10)) is None

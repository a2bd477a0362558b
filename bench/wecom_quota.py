"""A day on WeCom under the per-group cap of group messages: what the quota planner
(``core/quota.py``) proposes, against the cap, and how soon relay lines reach their groups.

    .venv/bin/python bench/wecom_quota.py [--orders 5000] [--confirm-minutes 10] [--runs 5]

The day (Shanghai time, 25 November, a 30-day month): 3 brands × 20 groups; ``--orders``
orders between 08:00 and 23:00 (more in the evening), each a relay line in its group's 接龙,
queued by the hourly push; a leaderboard for every group on the hour; a co-learning session
20:00–21:00 relaying 40 lecturer lines to 50 other groups. Every minute the planner is asked,
for each group with something waiting, what goes now; a staff member confirms a proposed task
``--confirm-minutes`` later (then it is delivered).

Printed per cap setting (month_days: one post a day; week_7; day_1), beside the baseline of a
post per push with no planner (what WeCom would refuse beyond the cap, status 3):
posts proposed vs the cap, the largest number one group got in a window and in the day, relay
lines delivered within one hour of their order and by the end of the day, leaderboards
superseded; and the planner's time for the whole day (min / median / max of ``--runs``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from core.quota import Per, Waiting, period_of, plan_group, window_of

SHANGHAI = timezone(timedelta(hours=8))
DAY = datetime(2026, 11, 25, tzinfo=SHANGHAI)
CAPS: dict[str, tuple[Per, int]] = {"month_days": ("month", 30), "week_7": ("week", 7), "day_1": ("day", 1)}


@dataclass
class Group:
    waiting: list[Waiting] = field(default_factory=list)
    posted: list[datetime] = field(default_factory=list)


@dataclass
class Day:
    relay: dict[int, tuple[str, datetime]]  # line id → (group, ordered at)
    events: list[tuple[datetime, str, Waiting]]  # (queued at, group, what)


def build_day(orders: int, rng: random.Random) -> Day:
    groups = [f"brand{b}-group{g:02d}" for b in range(3) for g in range(20)]
    relay: dict[int, tuple[str, datetime]] = {}
    events: list[tuple[datetime, str, Waiting]] = []
    ids = iter(range(10**9))
    for _ in range(orders):
        hour = rng.choices(range(8, 23), weights=[1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 4, 5, 5, 3])[0]
        ordered = DAY + timedelta(hours=hour, minutes=rng.randrange(60))
        group, line = rng.choice(groups), next(ids)
        relay[line] = (group, ordered)
        pushed = ordered.replace(minute=0) + timedelta(hours=1)  # the hourly push queues it
        events.append((pushed, group, Waiting(line, "relay")))
    for hour in range(9, 24):
        for group in groups:
            events.append((DAY + timedelta(hours=hour), group, Waiting(next(ids), "leaderboard")))
    for n in range(40):  # the lecturer's lines, relayed to 50 co-learning groups
        at = DAY + timedelta(hours=20, minutes=n * 1.5)
        for g in range(50):
            line = next(ids)
            relay[line] = (f"colearn-{g:02d}", at)
            events.append((at, f"colearn-{g:02d}", Waiting(line, "relay")))
    events.sort(key=lambda e: e[0])
    return Day(relay, events)


def simulate(day: Day, per: Per, allowed: int, confirm: timedelta) -> dict[str, float]:
    groups: dict[str, Group] = defaultdict(Group)
    delivered: dict[int, datetime] = {}
    superseded = 0
    pending = iter(day.events)
    upcoming = next(pending, None)
    minute = DAY
    end = DAY + timedelta(days=1)
    while minute < end + timedelta(hours=2):  # and the next day's first digest
        while upcoming is not None and upcoming[0] <= minute:
            groups[upcoming[1]].waiting.append(upcoming[2])
            upcoming = next(pending, None)
        for group in groups.values():
            if not group.waiting:
                continue
            period = period_of(per, minute)  # as the outbox counts: this period's posts only
            plan = plan_group(group.waiting, now=minute, period=period, allowed=allowed,
                              posted=[at for at in group.posted if at >= period[0]])
            if plan.send:
                group.posted.append(minute)
                for line in plan.send:
                    delivered[line] = minute + confirm
                superseded += len(plan.superseded)
                group.waiting = []
        minute += timedelta(minutes=1)
    per_window = max(
        (Counter(window_of(*period_of(per, at), allowed, at) for at in g.posted).most_common(1)[0][1]
         for g in groups.values() if g.posted), default=0)
    lines = day.relay
    hour = timedelta(hours=1)
    within_hour = sum(1 for line, (_, at) in lines.items() if line in delivered and delivered[line] - at <= hour)
    today = sum(1 for line in lines if line in delivered and delivered[line] < end)
    next_morning = sum(1 for line in lines if line in delivered)
    return {
        "groups": len(groups),
        "proposed": sum(1 for g in groups.values() for at in g.posted if at < end),
        "next_digest": sum(1 for g in groups.values() for at in g.posted if at >= end),
        "max_day": max(sum(1 for at in g.posted if at < end) for g in groups.values()),
        "max_window": per_window,
        "within_hour": within_hour / len(lines),
        "today": today / len(lines),
        "next_morning": next_morning / len(lines),
        "superseded": superseded,
    }


def baseline(day: Day) -> dict[str, int]:
    """No planner: each push (an hour's lines for a group), each leaderboard and each lecturer
    line is a post of its own."""
    posts: dict[str, set[tuple[datetime, str]]] = defaultdict(set)
    for at, group, what in day.events:
        posts[group].add((at, what.kind))
    return {"posts": sum(len(p) for p in posts.values()), "busiest": max(len(p) for p in posts.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--confirm-minutes", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    day = build_day(args.orders, random.Random(20261125))
    confirm = timedelta(minutes=args.confirm_minutes)
    base = baseline(day)
    print(f"a day: {args.orders:,} orders in 60 brand groups, hourly pushes and leaderboards, a co-learning relay of"
          f" 40 lines to 50 groups; {len(day.relay):,} relay lines; confirmation {args.confirm_minutes} min after")
    print(f"baseline without the planner: {base['posts']:,} posts proposed, up to {base['busiest']} to one group"
          f" in the day (the month's cap is 30 for the whole month: WeCom refuses the rest)")
    for name, (per, allowed) in CAPS.items():
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            figures = simulate(day, per, allowed, confirm)
            times.append(time.perf_counter() - started)
        over = "none over quota" if figures["max_window"] <= 1 and figures["max_day"] <= allowed else "OVER QUOTA"
        print(f"{name:>10}: {figures['proposed']:,.0f} posts proposed today to {figures['groups']:.0f} groups"
              f" (at most {figures['max_day']:.0f} a group today, {figures['max_window']:.0f} a window; cap {allowed}"
              f" a {per}; {over}); relay lines delivered within 1 h: {figures['within_hour']:.1%}, by midnight:"
              f" {figures['today']:.1%}, with the next day's first digest ({figures['next_digest']:,.0f} posts at"
              f" 00:00): {figures['next_morning']:.1%}; {figures['superseded']:,.0f} leaderboards superseded;"
              f" planner {min(times):.2f} / {statistics.median(times):.2f} / {max(times):.2f} s for the day")


if __name__ == "__main__":
    main()

"""A day on WeCom under the per-group cap of group messages: what the quota planner
(``core/quota.py``) proposes, against the cap, and how soon relay lines reach their groups.

    .venv/bin/python bench/wecom_quota.py [--orders 5000] [--confirm-minutes 10] [--runs 3]

Two days alike (Shanghai time, 25 and 26 November, a 30-day month), each: 3 brands × 20 groups; ``--orders``
orders between 08:00 and 23:00 (more in the evening), each a relay line in its group's 接龙,
queued by the hourly push; a leaderboard for every group on the hour; a co-learning session
20:00–21:00 relaying 40 lecturer lines to 50 other groups. Every minute the planner is asked,
for each group with something waiting, what goes now; a staff member confirms a proposed task
``--confirm-minutes`` later (then it is delivered).

Printed per cap setting (month_days: one post a day; week_7; day_1), beside the baseline of a
post per push with no planner (what WeCom would refuse beyond the cap, status 3), for three
plans in the same run: the current one (a window's post as soon as something waits), every
group anchored at 22:00, and each brand (and the co-learning groups) anchored at the hour that
brought most of the first day's lines within the hour (``core.quota.busiest_anchor``). Figures
are of the second day's lines, when the first day's posts have been made (a steady state),
and for the current plan also of the first day, starting empty: posts proposed vs the cap,
the largest number one group got in a window and in a day, relay lines delivered within one
hour of their order, by their day's midnight and at all, the median delay, leaderboards
superseded; and the planner's time for the two days (min / median / max of ``--runs``).
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from time import perf_counter as time_now

from core.quota import Per, Waiting, busiest_anchor, period_of, plan_group, window_of

SHANGHAI = timezone(timedelta(hours=8))
DAY = datetime(2026, 11, 25, tzinfo=SHANGHAI)
HOUR = timedelta(hours=1)
CAPS: dict[str, tuple[Per, int]] = {"month_days": ("month", 30), "week_7": ("week", 7), "day_1": ("day", 1)}


@dataclass
class Group:
    waiting: list[Waiting] = field(default_factory=list)
    posted: list[datetime] = field(default_factory=list)


@dataclass
class Day:
    relay: dict[int, tuple[str, datetime, datetime]]  # line id → (group, ordered at, queued at)
    events: list[tuple[datetime, str, Waiting]]  # (queued at, group, what)


def build_days(orders: int, rng: random.Random, days: int = 2) -> Day:
    groups = [f"brand{b}-group{g:02d}" for b in range(3) for g in range(20)]
    relay: dict[int, tuple[str, datetime, datetime]] = {}
    events: list[tuple[datetime, str, Waiting]] = []
    ids = iter(range(10**9))
    for d in range(days):
        day = DAY + timedelta(days=d)
        for _ in range(orders):
            hour = rng.choices(range(8, 23), weights=[1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 4, 5, 5, 3])[0]
            ordered = day + timedelta(hours=hour, minutes=rng.randrange(60))
            group, line = rng.choice(groups), next(ids)
            pushed = ordered.replace(minute=0) + timedelta(hours=1)  # the hourly push queues it
            relay[line] = (group, ordered, pushed)
            events.append((pushed, group, Waiting(line, "relay")))
        for hour in range(9, 24):
            for group in groups:
                events.append((day + timedelta(hours=hour), group, Waiting(next(ids), "leaderboard")))
        for n in range(40):  # the lecturer's lines, relayed to 50 co-learning groups
            at = day + timedelta(hours=20, minutes=n * 1.5)
            for g in range(50):
                line = next(ids)
                relay[line] = (f"colearn-{g:02d}", at, at)
                events.append((at, f"colearn-{g:02d}", Waiting(line, "relay")))
    events.sort(key=lambda e: e[0])
    return Day(relay, events)


def brand_of(group: str) -> str:
    return group.split("-")[0]


def busiest_anchors(day: Day, confirm: timedelta) -> dict[str, time | None]:
    """Each brand's anchor from the first day's lines (what ops would set from history)."""
    history: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for group, ordered, queued in day.relay.values():
        if ordered < DAY + timedelta(days=1):
            history[brand_of(group)].append((ordered, queued))
    return {brand: busiest_anchor(lines, confirm) for brand, lines in history.items()}


def one_post_bound(day: Day, confirm: timedelta, measured: datetime) -> float:
    """The most day-2 lines any plan of one post a group a day can bring within the hour: each
    group posting at its own best hour of that very day (known only afterwards)."""
    lines: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for group, ordered, queued in day.relay.values():
        if measured <= ordered < measured + timedelta(days=1):
            lines[group].append((ordered, queued))
    hits = 0
    for group_lines in lines.values():
        best = busiest_anchor(group_lines, confirm)
        if best is None:
            continue
        post = measured.replace(hour=best.hour)
        hits += sum(1 for ordered, queued in group_lines if queued <= post and post + confirm - ordered <= HOUR)
    return hits / sum(len(v) for v in lines.values())


def simulate(day: Day, per: Per, allowed: int, confirm: timedelta, anchors: dict[str, time | None],
             measured: datetime) -> dict[str, float]:
    """Runs the planner minute by minute over both days and the morning after; the figures are
    of the lines ordered on the day starting at ``measured``."""
    groups: dict[str, Group] = defaultdict(Group)
    delivered: dict[int, datetime] = {}
    superseded = 0
    pending = iter(day.events)
    upcoming = next(pending, None)
    minute = DAY
    stop = DAY + timedelta(days=3)
    while minute < stop:
        while upcoming is not None and upcoming[0] <= minute:
            groups[upcoming[1]].waiting.append(upcoming[2])
            upcoming = next(pending, None)
        for name, group in groups.items():
            if not group.waiting:
                continue
            period = period_of(per, minute)  # as the outbox counts: this period's posts only
            plan = plan_group(group.waiting, now=minute, period=period, allowed=allowed,
                              posted=[at for at in group.posted if at >= period[0]], anchor=anchors.get(brand_of(name)))
            if plan.send:
                group.posted.append(minute)
                for line in plan.send:
                    delivered[line] = minute + confirm
                superseded += len(plan.superseded)
                group.waiting = []
        minute += timedelta(minutes=1)
    end = measured + timedelta(days=1)
    per_window = max(
        (Counter(window_of(*period_of(per, at), allowed, at) for at in g.posted).most_common(1)[0][1]
         for g in groups.values() if g.posted), default=0)
    per_day = max(Counter(at.date() for at in g.posted).most_common(1)[0][1] for g in groups.values() if g.posted)
    lines = {line: at for line, (_, at, _) in day.relay.items() if measured <= at < end}
    delays = sorted((delivered[line] - at).total_seconds() / 3600 for line, at in lines.items() if line in delivered)
    hour = timedelta(hours=1)
    return {
        "groups": len(groups),
        "proposed": sum(1 for g in groups.values() for at in g.posted if measured <= at < end),
        "max_day": per_day,
        "max_window": per_window,
        "within_hour": sum(1 for line, at in lines.items() if line in delivered and delivered[line] - at <= hour)
        / len(lines),
        "today": sum(1 for line in lines if line in delivered and delivered[line] < end) / len(lines),
        "at_all": len(delays) / len(lines),
        "median_hours": statistics.median(delays) if delays else float("nan"),
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
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    day = build_days(args.orders, random.Random(20261125))
    confirm = timedelta(minutes=args.confirm_minutes)
    base = baseline(day)
    busiest = busiest_anchors(day, confirm)
    plans: dict[str, dict[str, time | None]] = {
        "current": {},
        "anchored 22:00": {brand: time(22) for brand in busiest},
        "busiest hour": busiest,
    }
    with open("/proc/loadavg", encoding="ascii") as load:
        print(f"load average: {load.read().strip()}")
    print(f"two days alike: {args.orders:,} orders a day in 60 brand groups, hourly pushes and leaderboards, a"
          f" co-learning relay of 40 lines to 50 groups; {len(day.relay) // 2:,} relay lines a day; confirmation"
          f" {args.confirm_minutes} min after; busiest-hour anchors from day 1: "
          + ", ".join(f"{b} {t:%H:%M}" if t else f"{b} none" for b, t in sorted(busiest.items())))
    print(f"baseline without the planner: {base['posts']:,} posts proposed over the two days, up to"
          f" {base['busiest']} to one group (the month's cap is 30 for the whole month: WeCom refuses the rest)")
    bound = one_post_bound(day, confirm, DAY + timedelta(days=1))
    print(f"the most any plan of one post a group a day brings within the hour (each group at its own best"
          f" hour of day 2, known afterwards): {bound:.1%} of day 2's lines")
    for name, (per, allowed) in CAPS.items():
        first = simulate(day, per, allowed, confirm, {}, DAY)
        print(f"{name:>10} ({allowed} a {per}), current plan on a first day starting empty: within 1 h"
              f" {first['within_hour']:.1%}, by midnight {first['today']:.1%}")
        rows = []
        for label, anchors in plans.items():
            times = []
            for _ in range(args.runs):
                started = time_now()
                figures = simulate(day, per, allowed, confirm, anchors, DAY + timedelta(days=1))
                times.append(time_now() - started)
            rows.append((label, figures, times))
        current = rows[0][1]
        for label, figures, times in rows:
            over = "none over quota" if figures["max_window"] <= 1 and figures["max_day"] <= allowed else "OVER QUOTA"
            gain = f"{(figures['within_hour'] - current['within_hour']) * 100:+.1f} points vs current"
            delay = f"{figures['median_hours'] / current['median_hours']:.2f}× the current"
            print(f"{'':>12}{label:>15}: {figures['proposed']:,.0f} posts on day 2 (at most {figures['max_day']:.0f}"
                  f" a group a day, {figures['max_window']:.0f} a window; {over}); day 2's lines within 1 h:"
                  f" {figures['within_hour']:.1%} ({gain}), by midnight: {figures['today']:.1%}, at all:"
                  f" {figures['at_all']:.1%}, median delay {figures['median_hours']:.1f} h ({delay});"
                  f" {figures['superseded']:,.0f} leaderboards superseded; planner {min(times):.2f} /"
                  f" {statistics.median(times):.2f} / {max(times):.2f} s")


if __name__ == "__main__":
    main()

"""The quota planner: which posts waiting for one group go out now, merged into one digest, so
that the group never receives more than its cap of posts a period (WeCom: as many group
messages a month as the month has days, or 7 a week, or 1 a day).

The rule. The period (a calendar day, week from Monday, or month, in the platform's time zone)
is cut into as many equal windows as the cap allows; a group gets at most one post per window,
and none once the period's cap is used (posts made outside the planner count too). When a
window opens and something waits, everything waiting becomes one digest, merged so:

- relay lines (an order's line in the group's 接龙) stay, in the order they were queued;
- leaderboards: only the newest is kept — an older one is superseded, not sent;
- anything else is kept, after the relay lines.

What waits while the window's post is out waits for the next window. The plan says what goes,
what was merged away and why, and when to look again.

Anchored digests. Left alone, a window's post goes as soon as anything waits — the first push
of the morning — and all the day's later lines wait for the next window: with one post a day,
hardly any relay line reaches its group within the hour. An ``anchor`` (a local time of day,
set per brand: the end of the push that carries most of its orders, say 22:00, or the end of a
co-learning session) holds the window's post until the window's first moment at that time, so
the one post carries the busiest hour's lines while they are fresh, and the day's others with
them. A window that has no such moment (shorter than a day and missing it), or whose anchor
has passed, posts as soon as something waits.

Worked example: a 30-day month with the default cap (30) gives one-day windows. At 10:00 on
the 25th the group had its post of the day at 09:00; three relay lines and two leaderboards
wait → nothing goes, look again at 00:00 on the 26th. At that moment: one digest of the three
lines and the newer leaderboard; the older leaderboard is superseded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

Per = Literal["day", "week", "month"]
Kind = Literal["relay", "leaderboard", "post"]


@dataclass(frozen=True)
class Waiting:
    """A post waiting for the group: its id, what kind of post it is."""

    id: int
    kind: Kind


@dataclass(frozen=True)
class Plan:
    """``send``: the ids making up the digest, in order (empty: nothing goes now);
    ``superseded``: ids merged away; ``wait_until``: when to look again (None: now);
    ``reason``: the why, in a sentence ops read."""

    send: tuple[int, ...]
    superseded: tuple[int, ...]
    wait_until: datetime | None
    reason: str


def period_of(per: Per, local_now: datetime) -> tuple[datetime, datetime]:
    """The period ``local_now`` falls in: [start, end) in its time zone.

    Example: ("week", Wed 2026-11-25 10:00) → (Mon 11-23 00:00, Mon 11-30 00:00)."""
    day = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    if per == "day":
        return day, day + timedelta(days=1)
    if per == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    start = day.replace(day=1)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, start.replace(year=following.year, month=following.month)


def window_of(start: datetime, end: datetime, allowed: int, at: datetime) -> tuple[datetime, datetime]:
    """The window of the period [start, end) cut into ``allowed`` equal ones that ``at`` is in."""
    length = (end - start) / allowed
    index = min(int((at - start) / length), allowed - 1)
    return start + length * index, start + length * (index + 1)


def plan_group(
    waiting: Sequence[Waiting],
    *,
    now: datetime,
    period: tuple[datetime, datetime],
    allowed: int,
    posted: Sequence[datetime],
    anchor: time | None = None,
) -> Plan:
    """What goes to one group now. ``posted``: when the group's posts of this period went (or
    were proposed); ``allowed``: the period's cap; ``anchor``: the local time of day the
    window's post waits for (the module's doc); all times in one time zone."""
    start, end = period
    if not waiting:
        return Plan((), (), None, "nothing waits")
    if allowed <= 0 or len(posted) >= allowed:
        return Plan((), (), end, f"the group had its {allowed} posts this period: waiting for the next")
    window = window_of(start, end, allowed, now)
    if any(window[0] <= at < window[1] for at in posted):
        return Plan((), (), window[1], f"one post per window of {_span(window)} under a cap of {allowed}: "
                                       f"{len(waiting)} waiting join the next digest")
    due = anchored(window, anchor)
    if due is not None and now < due:
        return Plan((), (), due, f"the window's one post is anchored at {anchor:%H:%M}: "
                                 f"{len(waiting)} waiting join that digest")
    boards = [w.id for w in waiting if w.kind == "leaderboard"]
    superseded = tuple(boards[:-1])
    relay = [w.id for w in waiting if w.kind == "relay"]
    rest = [w.id for w in waiting if w.kind != "relay" and w.id not in superseded]
    send = (*relay, *rest)
    parts = [f"{len(relay)} relay lines"] if relay else []
    if boards:
        parts.append("the newest leaderboard" + (f" ({len(superseded)} older superseded)" if superseded else ""))
    others = len(rest) - (1 if boards else 0)
    if others:
        parts.append(f"{others} other posts")
    return Plan(send, superseded, None, f"one digest of {', '.join(parts)} (cap {allowed} a period)")


def anchored(window: tuple[datetime, datetime], anchor: time | None) -> datetime | None:
    """The window's first moment at the local time ``anchor``, None when it has none.

    Example: the window (25 Nov 00:00, 26 Nov 00:00) and 22:00 → 25 Nov 22:00."""
    if anchor is None:
        return None
    start, end = window
    at = start.replace(hour=anchor.hour, minute=anchor.minute, second=0, microsecond=0)
    if at < start:
        at += timedelta(days=1)
    return at if at < end else None


def _span(window: tuple[datetime, datetime]) -> str:
    hours = (window[1] - window[0]).total_seconds() / 3600
    if hours >= 24:
        return "a day" if hours == 24 else f"{hours / 24:.3g} days"
    return f"{hours:.3g} h"


def busiest_anchor(lines: Sequence[tuple[datetime, datetime]], confirm: timedelta) -> time | None:
    """The hour (HH:00, local) a day's one post should be anchored at so that most relay lines
    reach the group within an hour of their order: ``lines`` are (ordered, queued) pairs of a
    past day, ``confirm`` how long staff take to confirm a task. A post at H reaches the
    group at H + confirm and carries the lines queued by H; those ordered after H + confirm −
    1 h arrive within the hour. Ties go to the earlier hour; no lines, None.

    Example: with hourly pushes at the hour and 10 minutes to confirm, lines ordered at 21:15,
    21:40, 21:50 (queued 22:00) and 14:20 (queued 15:00) → 22:00 (three within the hour)."""
    best: tuple[int, int] | None = None
    for hour in range(24):
        hits = 0
        for ordered, queued in lines:
            post = ordered.replace(hour=hour, minute=0, second=0, microsecond=0)
            if post < queued:
                post += timedelta(days=1)
            if post + confirm - ordered <= timedelta(hours=1):
                hits += 1
        if hits and (best is None or hits > best[1]):
            best = (hour, hits)
    return None if best is None else time(best[0])

"""The rules of a co-learning session (共学营): its moments in time, what to do with a moment
given the clock, whether a lecturer's message falls in the relay window, and what makes a
session valid. Plain data in, plain data out; the scheduler and the handlers act on it.

A session has *moments*: reminders (minutes before the start), the start, course-card posts
(minutes after the start) and the end. Each moment has a key, stable across restarts and
edits, that names its scheduler job and its delivery records:

>>> from datetime import UTC, datetime
>>> start = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
>>> end = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
>>> [(m.key, m.at.strftime("%d %H:%M")) for m in moments(start, end, reminders=[1440, 60, 10], cards=[30])]
[('reminder:1440', '25 12:00'), ('reminder:60', '26 11:00'), ('reminder:10', '26 11:50'), ('start', '26 12:00'), \
('card:30', '26 12:30'), ('end', '26 13:00')]

What to do with a moment at ``now`` (``grace``: how late it may still go out):

>>> from datetime import timedelta
>>> one_hour = moments(start, end, reminders=[60], cards=[])[0]
>>> decide(one_hour, start - timedelta(minutes=61), timedelta(minutes=10))  # early: the timer waits
<Decision.WAIT: 'wait'>
>>> decide(one_hour, start - timedelta(minutes=55), timedelta(minutes=10))  # 5 min late: still sent
<Decision.SEND: 'send'>
>>> decide(one_hour, start - timedelta(minutes=45), timedelta(minutes=10))  # 15 min late: skipped
<Decision.SKIP: 'skip'>
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

DEFAULT_REMINDERS: tuple[int, ...] = (24 * 60, 60, 10)  # minutes before the start
MAX_REMINDER_MINUTES = 7 * 24 * 60
MAX_DURATION = timedelta(hours=12)
TITLE_MAX = 60
_OFFSET = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$", re.IGNORECASE)


class Decision(StrEnum):
    WAIT = "wait"  # not yet due: the timer fires later
    SEND = "send"  # due, and late by no more than the grace time
    SKIP = "skip"  # missed by more than the grace time, or pointless now (a reminder after the start)


@dataclass(frozen=True)
class Moment:
    """One scheduled thing of a session. ``key`` is stable: "reminder:60", "start", "card:30",
    "end". ``until``: past this instant the moment has no point even within the grace time
    (a reminder once the session started, a card once it ended)."""

    kind: str  # reminder | start | card | end
    offset: int  # minutes: before the start for reminders, after it for cards; 0 otherwise
    at: datetime
    until: datetime | None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.offset}" if self.kind in ("reminder", "card") else self.kind


def moments(starts_at: datetime, ends_at: datetime, reminders: Iterable[int], cards: Iterable[int]) -> list[Moment]:
    """Every moment of a session, in time order (ties: reminders, start, cards, end)."""
    order = {"reminder": 0, "start": 1, "card": 2, "end": 3}
    found = [Moment("reminder", m, starts_at - timedelta(minutes=m), starts_at) for m in set(reminders)]
    found.append(Moment("start", 0, starts_at, ends_at))
    found += [Moment("card", m, starts_at + timedelta(minutes=m), ends_at) for m in set(cards)]
    found.append(Moment("end", 0, ends_at, None))
    return sorted(found, key=lambda m: (m.at, order[m.kind], -m.offset))


def decide(moment: Moment, now: datetime, grace: timedelta) -> Decision:
    """WAIT before the moment; SEND from the moment until ``grace`` later (and before its
    ``until``); SKIP after that. A bot that was down when a reminder fell due sends it if it
    is back within the grace time, and skips it (and says so in the log) otherwise."""
    if now < moment.at:
        return Decision.WAIT
    if now - moment.at > grace or (moment.until is not None and now >= moment.until):
        return Decision.SKIP
    return Decision.SEND


def in_window(starts_at: datetime, ends_at: datetime, at: datetime) -> bool:
    """A lecturer's message is relayed when sent from the start (included) to the end
    (excluded).

    >>> from datetime import UTC, datetime
    >>> s, e = datetime(2026, 11, 26, 12, 0, tzinfo=UTC), datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    >>> in_window(s, e, s), in_window(s, e, e), in_window(s, e, s - timedelta(seconds=1))
    (True, False, False)
    """
    return starts_at <= at < ends_at


def minutes_until(starts_at: datetime, now: datetime) -> int:
    """Whole minutes left before the start, rounded up: what a reminder says ("还有 9 分钟").

    >>> from datetime import UTC, datetime
    >>> s = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    >>> minutes_until(s, s - timedelta(minutes=9, seconds=30)), minutes_until(s, s)
    (10, 0)
    """
    seconds = max(0.0, (starts_at - now).total_seconds())
    return int(-(-seconds // 60))


def describe_minutes(minutes: int) -> str:
    """A duration as people say it.

    >>> describe_minutes(1440), describe_minutes(90), describe_minutes(10), describe_minutes(1500)
    ('1 天', '1 小时 30 分钟', '10 分钟', '1 天 1 小时')
    """
    days, rest = divmod(max(0, minutes), 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} 天" if days else "", f"{hours} 小时" if hours else "", f"{mins} 分钟" if mins else ""]
    return " ".join(p for p in parts if p) or "0 分钟"


def parse_offset(value: object) -> int:
    """Minutes from an offset as ops write it: 90, "90", "90m", "1h30m", "24h", "1d".

    >>> [parse_offset(v) for v in (90, "90", "90m", "1h30m", "24h", "1d", "10 min")]
    [90, 90, 90, 90, 1440, 1440, 10]
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an offset")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    match = _OFFSET.match(text)
    if not text or match is None or not any(match.groups()):
        raise ValueError(f"{value!r} is not an offset like 10m, 1h, 24h or 1h30m")
    days, hours, mins = (int(g) if g else 0 for g in match.groups())
    return days * 1440 + hours * 60 + mins


@dataclass(frozen=True)
class SessionPlan:
    """What ops asked for, already parsed (times aware, offsets in minutes)."""

    title: str
    source_room: str
    lecturers: Sequence[str]
    starts_at: datetime
    ends_at: datetime
    reminders: Sequence[int]
    cards: Sequence[int]
    has_course: bool


def check_session(plan: SessionPlan, now: datetime, *, started: bool = False) -> list[str]:
    """Everything wrong with a session as planned, each as a sentence for ops (empty: fine).
    ``started``: the session already began (an edit may then move the end, not the start).

    >>> from datetime import UTC, datetime
    >>> now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    >>> plan = SessionPlan("数学思维公开课", "room-lecture", ["wx-teacher"], now + timedelta(days=1),
    ...                    now + timedelta(days=1, hours=1), [1440, 60, 10], [30], has_course=True)
    >>> check_session(plan, now)
    []
    >>> from dataclasses import replace
    >>> check_session(replace(plan, ends_at=plan.starts_at, lecturers=[], cards=[90]), now)
    ['lecturers: name at least one lecturer (a contact id)', 'ends_at: the end must come after the start']
    """
    problems: list[str] = []
    if not plan.title.strip() or len(plan.title) > TITLE_MAX:
        problems.append(f"title: give a title of 1 to {TITLE_MAX} characters")
    if not plan.source_room.strip():
        problems.append("source_room: name the lecturer room whose messages are relayed")
    if not [lecturer for lecturer in plan.lecturers if lecturer.strip()]:
        problems.append("lecturers: name at least one lecturer (a contact id)")
    if plan.ends_at <= plan.starts_at:
        problems.append("ends_at: the end must come after the start")
        return problems
    if plan.ends_at - plan.starts_at > MAX_DURATION:
        problems.append(f"ends_at: a session lasts at most {describe_minutes(int(MAX_DURATION.total_seconds() // 60))}")
    if not started and plan.starts_at <= now:
        problems.append("starts_at: the start must be in the future")
    if started and plan.ends_at <= now:
        problems.append("ends_at: the end must be in the future")
    bad = [m for m in plan.reminders if not 1 <= m <= MAX_REMINDER_MINUTES]
    if bad:
        problems.append(f"reminders: offsets are 1 minute to 7 days before the start, not {bad}")
    duration = int((plan.ends_at - plan.starts_at).total_seconds() // 60)
    late = [m for m in plan.cards if not 0 <= m < duration]
    if late:
        problems.append(
            f"cards: course-card moments must fall within the session (0 to {duration - 1} min), not {late}"
        )
    if plan.cards and not plan.has_course:
        problems.append("cards: a course card needs the session's course")
    return problems

"""Rate limits kept in memory. One process serves each helper account and a person writes to
one helper account, so this process's memory is the right place: the worst a restart does is
answer someone once more.

- :class:`Flood`: how often one key (a console login name, an address) may act in a sliding
  window.
- :class:`Answered` and :class:`AnswerBatch`: how often the helper *answers* one person and
  one group. Every message is handled (input is never dropped); an answer is given, replaced
  by one short "稍后再试", or withheld. Decisions made in a unit of work count from its commit
  on, so a batch rolled back and replayed one message at a time still owes what it owed.
- ``bot.runtime.middleware.AnswerLimiter`` puts them on the pre-routing stage: each event gets
  the answer decisions of its unit of work (``ctx.answers``, read by ``MessageContext.reply``),
  merged into the process's memory once it commits.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Flood:
    """At most ``limit`` actions per ``window`` seconds per key."""

    def __init__(self, limit: int, window: float):
        self.limit, self.window = limit, window
        self.seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str, now: float) -> bool:
        times = self.seen[key]
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        if len(self.seen) > 10_000:  # forget keys quiet for a whole window
            for quiet in [k for k, t in self.seen.items() if not t or now - t[-1] > self.window]:
                del self.seen[quiet]
        return True


class Verdict(StrEnum):
    ANSWER = "answer"
    LATER = "later"  # past the budget: one short "稍后再试" instead, once per window
    LIMIT = "limit"  # past the budget, "稍后再试" already said (or in a group): nothing
    REPEAT = "repeat"  # the person got this very answer a moment ago: nothing


@dataclass(frozen=True)
class AnswerLimits:
    """Answers per ``window`` by the asker's role, per group, and how long the same answer is
    not repeated (``repeat``; zero: it may be)."""

    window: timedelta
    budgets: Mapping[str, int]  # by role: guest, distributor, manager, ops
    room: int
    repeat: timedelta
    keep: timedelta  # how long a person's answers are remembered (≥ window and repeat)

    @classmethod
    def from_settings(cls, settings: Any, *, person: int | None = None, room: int | None = None) -> AnswerLimits:
        """From ``answers`` and ``dm`` in the configuration; ``person``/``room`` override every
        role's budget and the group's (tests and benchmarks turn them up)."""
        answers, dm = settings.raw.answers, settings.raw.dm
        budgets = {"guest": answers.guest, "distributor": answers.distributor}
        budgets |= {"manager": answers.staff, "ops": answers.staff}
        window, repeat = timedelta(seconds=answers.window_seconds), timedelta(minutes=answers.repeat_minutes)
        return cls(
            window=window,
            budgets={role: person for role in budgets} if person is not None else budgets,
            room=room if room is not None else answers.room,
            repeat=repeat,
            keep=max(window, repeat, timedelta(minutes=dm.menu_every_minutes)),
        )


@dataclass
class _Person:
    answers: deque[tuple[datetime, int, bool]] = field(default_factory=deque)  # (at, fingerprint, budgeted)
    later: datetime | None = None  # the last "稍后再试"
    last: dict[str, datetime] = field(default_factory=dict)  # the last answer of each template

    def copy(self) -> _Person:
        return _Person(deque(self.answers), self.later, dict(self.last))

    def newest(self) -> datetime | None:
        return max([*self.last.values(), *([self.later] if self.later else [])], default=None)


class Answered:
    """What this process answered whom, and when; old entries are dropped as it grows."""

    def __init__(self, max_people: int = 50_000):
        self.people: dict[str, _Person] = {}
        self.rooms: dict[str, deque[datetime]] = {}
        self.max_people = self.prune_at = max_people

    def merge(self, people: dict[str, _Person], rooms: dict[str, deque[datetime]], keep: timedelta) -> None:
        self.people.update(people)
        self.rooms.update(rooms)
        if len(self.people) > self.prune_at:
            newest = max((at for p in self.people.values() if (at := p.newest())), default=None)
            if newest is not None:
                since = newest - keep
                self.people = {k: p for k, p in self.people.items() if (p.newest() or since) > since}
                self.rooms = {k: t for k, t in self.rooms.items() if t and t[-1] > since}
            # Everyone still remembered is recent: look again only once the memory has doubled.
            self.prune_at = max(self.max_people, 2 * len(self.people))


class AnswerBatch:
    """The answer decisions of one unit of work: made against what the process answered before
    plus what this batch decided so far, kept aside until :meth:`commit`.

    Example (guest budget 1 a minute, repeats within 5 minutes withheld): a stranger writes
    "帮助" ten times in a second → the menu, then "稍后再试" once, then nothing; a distributor
    asking "收益" twice gets the earnings once, and again once an order has changed them."""

    def __init__(self, memory: Answered, limits: AnswerLimits):
        self.memory, self.limits = memory, limits
        self.people: dict[str, _Person] = {}
        self.rooms: dict[str, deque[datetime]] = {}

    def decide(
        self, person: str, role: str, room: str | None, template: str, text: str, now: datetime, *, budgeted: bool
    ) -> Verdict:
        """May ``person`` (who wrote in ``room``, None for a private chat) be answered ``text``
        now? ``budgeted`` False: the answer does not count against the budget (a welcome)."""
        limits, who = self.limits, self._person(person, now)
        fingerprint = hash((room or "", template, text))
        if limits.repeat and any(f == fingerprint and now - at < limits.repeat for at, f, _ in who.answers):
            return Verdict.REPEAT
        if budgeted:
            used = sum(1 for at, _, counted in who.answers if counted and now - at < limits.window)
            busy_room = room is not None and len(self._room(room, now)) >= limits.room
            if used >= limits.budgets.get(role, limits.budgets["guest"]) or busy_room:
                if room is None and (who.later is None or now - who.later >= limits.window):
                    who.later = now
                    return Verdict.LATER
                return Verdict.LIMIT
            if room is not None:
                self._room(room, now).append(now)
        who.answers.append((now, fingerprint, budgeted))
        who.last[template] = now
        return Verdict.ANSWER

    def retry_after(self, person: str, now: datetime) -> int:
        """Whole seconds until ``person`` may be answered again (at least 1)."""
        window = self.limits.window
        counted = [at for at, _, budgeted in self._person(person, now).answers if budgeted and now - at < window]
        wait = (min(counted) + window - now) if counted else timedelta(0)
        return max(1, math.ceil(wait.total_seconds()))

    def last(self, person: str, template: str) -> datetime | None:
        """When ``person`` was last answered with ``template`` (remembered for ``limits.keep``)."""
        who = self.people.get(person) or self.memory.people.get(person)
        return who.last.get(template) if who else None

    def commit(self) -> None:
        self.memory.merge(self.people, self.rooms, self.limits.keep)
        self.people, self.rooms = {}, {}

    def _person(self, person: str, now: datetime) -> _Person:
        who = self.people.get(person)
        if who is None:
            remembered = self.memory.people.get(person)
            who = self.people[person] = remembered.copy() if remembered else _Person()
            while who.answers and now - who.answers[0][0] >= self.limits.keep:
                who.answers.popleft()
        return who

    def _room(self, room: str, now: datetime) -> deque[datetime]:
        times = self.rooms.get(room)
        if times is None:
            times = self.rooms[room] = deque(self.memory.rooms.get(room, ()))
            while times and now - times[0] >= self.limits.window:
                times.popleft()
        return times


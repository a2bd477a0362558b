"""One typed context per message or event: the unit of work (its session, and what it owes once
committed: ``bot.base.uow``), the configuration, the renderer and the clock reading. Handlers
get everything through it."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from bot.base.config import Settings
from bot.base.render import Renderer
from bot.base.uow import UnitOfWork

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """The wall clock moved to another instant: it reads ``start`` when made and runs on at
    the wall clock's pace, so a running bot (its outbox backoff, session expiry) behaves as
    on any other day."""

    def __init__(self, start: datetime, wall: Callable[[], datetime] | None = None):
        self.wall = wall or SystemClock().now
        self.offset = start - self.wall()

    def now(self) -> datetime:
        return self.wall() + self.offset


CLOCK_VARIABLE = "DISTBOT_CLOCK"


def process_clock(environ: Mapping[str, str] = os.environ) -> Clock:
    """The clock of a ``distbot`` process: the system clock, or a :class:`ShiftedClock` from
    ``DISTBOT_CLOCK`` (ISO 8601 with a UTC offset, e.g. ``2026-11-25T20:35:00+08:00``) — how a
    test or a demo runs the whole process at a chosen hour. Raises ValueError, saying what to
    write, for anything else."""
    value = environ.get(CLOCK_VARIABLE, "").strip()
    if not value:
        return SystemClock()
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        start = None
    if start is None or start.tzinfo is None:
        raise ValueError(
            f"{CLOCK_VARIABLE}={value!r} is not an instant with a UTC offset; write it like 2026-11-25T20:35:00+08:00"
        )
    return ShiftedClock(start.astimezone(UTC))


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


class Kept:
    """What a process keeps across events, one object per kind, made (``kind()``) on first use
    (see ``bot.base.env.Env.kept``)."""

    def __init__(self) -> None:
        self._objects: dict[type, Any] = {}

    def __call__(self, kind: type[T]) -> T:
        found = self._objects.get(kind)
        if found is None:
            found = self._objects[kind] = kind()
        return cast(T, found)

    def keep(self, value: T) -> T:
        """Keep ``value`` as the one of its kind."""
        self._objects[type(value)] = value
        return value


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the audit log records it: ``name`` (a console user, a WeChat contact,
    the API caller's ``by``, the CLI's operating-system user, ``system``), ``role`` (ops,
    manager, distributor, guest, system) and ``source``, where the action came from
    (console, api, cli, chat, system)."""

    name: str
    role: str
    source: str


SYSTEM = Actor("system", "system", "system")


@dataclass
class Context:
    session: AsyncSession
    settings: Settings
    renderer: Renderer
    now: datetime
    uow: UnitOfWork  # the transaction ``session`` belongs to
    kept: Kept  # what the process keeps across events (the root object's)
    # Who this unit of work acts for: each entry point says so when it opens the context.
    actor: Actor = SYSTEM

"""Database faults as the long-lived tasks see them.

A database that cannot be reached (refused, restarting, not accepting connections, the
connection cut mid-statement, the SQLite file gone) is an *outage*: the work waits and is tried
again, with doubling waits up to a cap, and nothing taken in is dropped. A statement the
database refuses (a constraint, bad SQL) is not: that is the caller's failure and is handled as
such. :func:`database_unavailable` tells the two apart.

:class:`Outage` is the process's view of it — logged once when the first task meets it and
once when the first task gets through again, whatever the number of retries in between — and
:class:`Retrying` keeps a scheduled job alive through one.
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
import logging
import random
import socket
import sqlite3
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exc as sa

log = logging.getLogger(__name__)
# What the current task is doing, for the outage log ("chat", "outbox sender", "settlement", …):
# each long-lived task sets it once; the tasks it starts inherit it.
doing: contextvars.ContextVar[str] = contextvars.ContextVar("doing", default="")

# PostgreSQL SQLSTATE classes and codes that mean "cannot talk to the database right now":
# 08 connection exception, 53 insufficient resources (too many connections, disk full),
# 57P operator intervention (admin shutdown, crash shutdown, cannot connect now),
# 3D000 the database does not exist (dropped, or not yet restored).
_SQLSTATE_PREFIXES = ("08", "53", "57P", "3D000")
_NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.EHOSTDOWN,
    errno.ETIMEDOUT,
    errno.EPIPE,
}
# SQLite reports bad SQL as OperationalError too: those are bugs, not outages.
_SQLITE_NOT_OUTAGE = ("no such ", "syntax error", "near \"", "has no column", "already exists")


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _unavailable(error: BaseException) -> bool:
    if isinstance(error, sa.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa.DisconnectionError | sa.TimeoutError):
        return True  # a connection lost under us, the pool exhausted
    # SQLite: the file unreachable, locked too long, not a database (any more); its other
    # errors (constraints, bad SQL, bad parameters) are the caller's.
    if isinstance(error, sqlite3.OperationalError) or type(error) is sqlite3.DatabaseError:
        text = str(error).lower()
        return not any(marker in text for marker in _SQLITE_NOT_OUTAGE)
    sqlstate = str(getattr(error, "sqlstate", "") or "")
    if sqlstate.startswith(_SQLSTATE_PREFIXES):
        return True
    if sqlstate == "55000" and "accepting connections" in str(error):  # ALLOW_CONNECTIONS false
        return True
    if type(error).__module__.startswith("asyncpg") and type(error).__name__ in (
        "InterfaceError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "CannotConnectNowError",
    ):
        return True
    if isinstance(error, TimeoutError | ConnectionError | socket.gaierror):
        return True  # connecting: refused, reset, no answer, no such host
    return isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS


def database_unavailable(error: BaseException) -> bool:
    """True when ``error`` means the database could not be reached (worth waiting for), not
    that it refused what was asked. Looks through the whole chain of causes, since drivers and
    SQLAlchemy wrap each other's errors; a constraint violation anywhere in it decides "no"."""
    chain = _chain(error)
    if any(isinstance(e, sa.IntegrityError | sa.DataError | sa.ProgrammingError) for e in chain):
        return False
    return any(_unavailable(e) for e in chain)


def brief(error: BaseException) -> str:
    """The innermost message of an error chain, on one line: what the driver actually said."""
    chain = _chain(error)
    for candidate in reversed(chain):
        text = str(candidate).strip().splitlines()[0] if str(candidate).strip() else ""
        if text:
            return f"{type(candidate).__name__}: {text[:200]}"
    return type(error).__name__


class Backoff:
    """Waits that double from ``first`` up to ``cap`` seconds, each with up to a quarter of
    random jitter off it (processes sharing a database should not all come back at once)."""

    def __init__(self, first: float = 0.2, cap: float = 5.0, rng: random.Random | None = None):
        self.first, self.cap = first, max(first, cap)
        self.rng = rng or random.Random()
        self.current = first

    def next(self) -> float:
        delay = self.current
        self.current = min(self.cap, self.current * 2)
        return delay * (1 - self.rng.random() / 4)

    def reset(self) -> None:
        self.current = self.first


class Outage:
    """Whether this process can reach its database, as its work finds out.

    Every unit of work reports here (``bot.base.db.Database`` does it): the first failure that is an
    outage logs one error naming the task and what the driver said; once work has got through
    for ``settle`` seconds without a failure, one line says how long it lasted. Retries in
    between log nothing, and a database that flickers (an old connection still working while
    new ones are refused) is one outage, not several."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic, settle: float = 1.0):
        self.monotonic, self.settle = monotonic, settle
        self._good_since: float | None = None
        self.since: datetime | None = None  # when the current outage began (None: reachable)
        self.error = ""
        self.failures = 0
        self.waiting: set[str] = set()  # the tasks that met it
        self.last: dict[str, Any] | None = None  # the previous outage: began, seconds, failures
        self._began = 0.0

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException, where: str = "") -> bool:
        """Record ``error`` if it is an outage; True when it is."""
        if not database_unavailable(error):
            return False
        self.failures += 1
        self._good_since = None
        if where:
            self.waiting.add(where)
        if self.since is None:
            self.since, self._began, self.error = datetime.now(UTC), self.monotonic(), brief(error)
            log.error(
                "database unreachable%s: %s. Work waits and is retried until it is back; nothing taken in is dropped",
                f" ({where})" if where else "",
                self.error,
            )
        return True

    def ok(self) -> None:
        """A unit of work got through."""
        if self.since is None:
            return
        now = self.monotonic()
        if self._good_since is None:
            self._good_since = now
        if now - self._good_since < self.settle:
            return
        seconds = self._good_since - self._began
        log.warning(
            "database reachable again after %.1f s (%d failed attempt(s) meanwhile%s)",
            seconds,
            self.failures,
            f"; waiting were: {', '.join(sorted(self.waiting))}" if self.waiting else "",
        )
        self.last = {"began": self.since, "seconds": round(seconds, 1), "failures": self.failures}
        self.since, self.error, self.failures, self.waiting = None, "", 0, set()

    def report(self) -> dict[str, Any]:
        if self.since is None:
            return {"reachable": True, "last_outage": self.last}
        return {
            "reachable": False,
            "since": self.since,
            "seconds": round(self.monotonic() - self._began, 1),
            "error": self.error,
            "failed_attempts": self.failures,
            "waiting": sorted(self.waiting),
        }


class Retrying:
    """A scheduled job that outlives a database outage.

    The job is tried again after each outage error, with doubling waits up to ``cap``; when its
    next scheduled run comes sooner than the next wait, this run ends and that one carries on (so
    a job never overlaps itself). Any other error is logged with its traceback and the job runs
    again at its next time: a job never ends the scheduler, and a bug never turns into a loop.
    The outage itself is logged once, by the database's :class:`Outage`."""

    def __init__(
        self,
        name: str,
        job: Callable[..., Awaitable[Any]],
        *,
        cap: float,
        next_run: Callable[[], datetime | None] = lambda: None,
        first: float = 0.2,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ):
        self.name, self.job, self.next_run = name, job, next_run
        self.first, self.cap, self.sleep, self.rng = first, cap, sleep, rng
        self.failing_since: datetime | None = None
        self.last_ok: datetime | None = None
        self.last_error = ""

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        doing.set(self.name)
        backoff = Backoff(self.first, self.cap, self.rng)
        while True:
            try:
                result = await self.job(*args, **kwargs)
            except Exception as error:
                self.last_error = brief(error)
                if not database_unavailable(error):
                    log.exception("%s failed; it runs again at its next time", self.name)
                    return None
                self.failing_since = self.failing_since or datetime.now(UTC)
                delay = backoff.next()
                upcoming = self.next_run()
                if upcoming is not None and upcoming <= datetime.now(UTC) + timedelta(seconds=delay):
                    return None  # the next scheduled run tries again
                await self.sleep(delay)
            else:
                self.failing_since, self.last_ok, self.last_error = None, datetime.now(UTC), ""
                return result

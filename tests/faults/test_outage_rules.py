"""Which errors are a database outage (wait and try again) and which are not (the caller's
failure, handled as such): the rule every long-lived task goes by."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from sqlalchemy import exc as sa

from bot.base.faults import Backoff, Outage, brief, database_unavailable


def wrapped(driver_error: BaseException, kind: type[sa.DBAPIError] = sa.DBAPIError, **extra) -> sa.DBAPIError:
    """As SQLAlchemy hands a driver's error on: wrapped, the driver's error as the cause."""
    error = kind("SELECT 1", {}, driver_error, **extra)
    error.__cause__ = driver_error
    return error


OUTAGES = {
    "refused at connect": ConnectionRefusedError(111, "Connect call failed"),
    "no route to the host": OSError(113, "No route to host"),
    "not accepting connections": wrapped(
        asyncpg.exceptions.ObjectNotInPrerequisiteStateError('database "x" is not currently accepting connections')
    ),
    "terminated by the administrator": wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection")),
    "too many connections": wrapped(asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients")),
    "connection closed mid-statement": wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("closed")),
    "connection invalidated": wrapped(RuntimeError("gone"), connection_invalidated=True),
    "SQLite file gone": wrapped(sqlite3.OperationalError("disk I/O error"), sa.OperationalError),
    "SQLite cannot open": wrapped(sqlite3.OperationalError("unable to open database file"), sa.OperationalError),
    "SQLite locked too long": wrapped(sqlite3.OperationalError("database is locked"), sa.OperationalError),
    "the pool exhausted": sa.TimeoutError("QueuePool limit of size 10 overflow 20 reached"),
    "no answer in time": TimeoutError(),
}
NOT_OUTAGES = {
    "a unique constraint": wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key"), sa.IntegrityError),
    "SQLite constraint": wrapped(sqlite3.IntegrityError("UNIQUE constraint failed"), sa.IntegrityError),
    "SQLite bad SQL": wrapped(sqlite3.OperationalError("no such table: outbox"), sa.OperationalError),
    "SQLite bad parameter": wrapped(sqlite3.InterfaceError("Error binding parameter 1"), sa.InterfaceError),
    "PostgreSQL bad SQL": wrapped(
        asyncpg.exceptions.UndefinedTableError("relation does not exist"), sa.ProgrammingError
    ),
    "a file the handler reads": FileNotFoundError(2, "No such file or directory"),
    "a bug": KeyError("brand"),
}


@pytest.mark.parametrize("error", OUTAGES.values(), ids=OUTAGES.keys())
def test_an_unreachable_database_is_an_outage_to_wait_out(error):
    assert database_unavailable(error)


@pytest.mark.parametrize("error", NOT_OUTAGES.values(), ids=NOT_OUTAGES.keys())
def test_a_refused_statement_or_a_bug_is_not_an_outage(error):
    assert not database_unavailable(error)


def test_an_outage_met_many_times_is_logged_once_when_it_begins_and_once_when_it_has_settled(caplog):
    now = [0.0]
    outage = Outage(monotonic=lambda: now[0], settle=1.0)
    error = OUTAGES["not accepting connections"]
    for second in range(10):
        now[0] = float(second)
        outage.failed(error, "chat")
    now[0] = 10.0
    outage.ok()  # an old connection still working while new ones are refused …
    now[0] = 10.5
    outage.failed(error, "outbox sender")  # … is the same outage
    for at in (12.0, 12.5, 13.0, 14.0):
        now[0] = at
        outage.ok()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith('database unreachable (chat): ObjectNotInPrerequisiteStateError: database "x"')
    assert lines[1] == (
        "database reachable again after 12.0 s (11 failed attempt(s) meanwhile; waiting were: chat, outbox sender)"
    )
    assert outage.last == {"began": outage.last["began"], "seconds": 12.0, "failures": 11} and not outage.down


def test_a_statement_the_database_refuses_does_not_start_an_outage(caplog):
    outage = Outage()
    assert not outage.failed(NOT_OUTAGES["a unique constraint"], "chat")
    assert not outage.down and caplog.records == []


def test_waits_double_up_to_the_cap_with_at_most_a_quarter_off():
    backoff = Backoff(first=0.2, cap=5.0)
    nominal = [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]
    waits = [backoff.next() for _ in nominal]
    assert all(0.75 * n <= w <= n for w, n in zip(waits, nominal, strict=True)), waits
    backoff.reset()
    assert 0.15 <= backoff.next() <= 0.2


def test_the_log_names_what_the_driver_said_not_the_wrapper():
    assert brief(OUTAGES["SQLite file gone"]) == "OperationalError: disk I/O error"

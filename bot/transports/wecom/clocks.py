"""The clock this package reads: anything with ``now() -> aware datetime`` (the bot's clocks fit).

Token expiry, callback timestamps and rate-limit windows are all read from it, so tests move
time by hand instead of waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def unix(at: datetime) -> int:
    return int(at.timestamp())


def from_unix(seconds: int | float | str) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)

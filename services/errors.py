"""Why a use case could not be done: one hierarchy every service raises, whoever called it.

The service says *what* went wrong in the users' words; each entry point says it its own way:
the web layer maps the class to an HTTP status in one place (``bot.web.errors``), the CLI
prints every problem as ``error: …`` and exits 1, the console shows the problems on the page.

- :class:`NotFound` — the thing asked for does not exist (a co-learning session id, a
  distributor's code, a friend request);
- :class:`Invalid` — the input is wrong; ``problems`` lists every problem, each naming its
  field where it has one (``"course_sku: unknown course sku 'X'"``);
- :class:`Conflict` — the thing exists but is not in a state that allows it (already decided,
  cancelled, over, already marked paid);
- :class:`Refused` — a rule of the platform says no (a payout beyond the balance, a refund
  beyond what was paid, stock short);
- :class:`Duplicate` — it was done already; nothing changed (an order event delivered again);
- :class:`Unavailable` — something it needs does not answer (a database it cannot reach).

``reason`` is the one-line explanation (may be empty where the problems say it all), ``code``
a stable word a program can branch on (``out_of_stock``), ``details`` extra facts for the
caller (who marked it paid, and when).

Example: ``Invalid(["starts_at: required", "ends_at: required"])`` → the API answers 422
``{"status": "rejected", "errors": [...]}``; the CLI prints two ``error:`` lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ServiceError(Exception):
    """A use case that cannot be done; nothing it would have written is written."""

    def __init__(
        self,
        reason: str = "",
        *,
        problems: Sequence[str] | None = None,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
    ):
        self.reason = reason
        self.problems = list(problems) if problems is not None else ([reason] if reason else [])
        self.code = code
        self.details = dict(details or {})
        super().__init__(reason or "; ".join(self.problems))


class NotFound(ServiceError):
    """What the caller named does not exist."""


class Invalid(ServiceError):
    """The input is wrong: every problem listed, none written."""

    def __init__(
        self,
        problems: Sequence[str] | str,
        *,
        reason: str = "",
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
    ):
        listed = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(reason, problems=listed, code=code, details=details)


class Conflict(ServiceError):
    """The thing is not in a state that allows this (any more)."""


class Refused(ServiceError):
    """A rule of the platform says no."""


class Duplicate(ServiceError):
    """Already done before; nothing changed."""


class Unavailable(ServiceError):
    """Something the use case needs does not answer; trying again later may work."""

"""微信客服's reply window, per customer: after a customer's message the bot may answer within
``hours`` (48), at most ``messages`` (5) answers; the customer's next message opens it anew.

A window is plain data (when it opened, how many answers went since), so the transport can keep
it in the database and find it again after a restart. The rules:

- :func:`opened` — a customer message at ``at`` opens a new window, unless the window known is
  newer (a message fetched late, e.g. again after a lost cursor, changes nothing);
- :func:`refusal` — why nothing may be sent now (None: an answer may go);
- :func:`spent` — the window after one answer.

Worked example: 李娜 writes at 10:00 on the 25th → ``Window(10:00 25th, 0)``. Five answers later
it is ``Window(10:00 25th, 5)`` and :func:`refusal` says "5 messages already sent". She writes
again at 12:00 → ``Window(12:00 25th, 0)``: answers may go until 12:00 on the 27th, when
:func:`refusal` says she has not written in the last 48 hours.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Window:
    opened_at: datetime  # the customer's last message
    sent: int = 0  # answers since


@dataclass(frozen=True)
class Limits:
    hours: int = 48
    messages: int = 5


def opened(known: Window | None, at: datetime) -> Window:
    """The window after a customer message sent at ``at``."""
    if known is not None and known.opened_at > at:
        return known
    if known is not None and known.opened_at == at:
        return known  # the same message seen twice
    return Window(at)


def is_open(window: Window | None, now: datetime, limits: Limits) -> bool:
    return window is not None and now - window.opened_at < timedelta(hours=limits.hours)


def refusal(window: Window | None, now: datetime, limits: Limits) -> str | None:
    """Why no answer may go to the customer now; None when one may."""
    if not is_open(window, now, limits):
        return f"has not written to 微信客服 in the last {limits.hours} hours"
    assert window is not None
    if window.sent >= limits.messages:
        return f"{limits.messages} messages already sent since their last message"
    return None


def spent(window: Window) -> Window:
    """The window after one answer went out."""
    return replace(window, sent=window.sent + 1)

"""What the fake WeCom server's parts share: errcode answers, the codes they use, ids, time.

Codes from the facts sheet (WECOM.md §1) are used as WeCom uses them. Where the sheet gives a
rule but not its code (the kf window and count, reminders, an invalid kf token or event code),
the fake answers with a code of its own, marked UNVERIFIED below: the client treats unknown
codes as permanent, which is what these are for the request at hand, and the transport must keep
its own count of the kf window anyway rather than learn it from errors.
"""

from __future__ import annotations

import calendar
import itertools
from datetime import datetime, timedelta, timezone

BUSY = -1
BAD_SECRET = 40001
BAD_CORP_ID = 40013
BAD_TOKEN = 40014
NO_TOKEN = 41001
TOKEN_EXPIRED = 42001
RATE_LIMITED = 45009
BAD_MEDIA = 40007
BAD_PARAM = 40058
WELCOME_SPENT = 41051
NOT_CONTACT = 84061
BAD_EXTERNAL_USERID = 40096
NEEDS_OWNER_FILTER = 81017
BAD_KFID = 95000

# Not in the facts sheet: the fake's own choice (UNVERIFIED against WeCom).
KF_OUTSIDE_WINDOW = 95901  # no customer message in the last 48 h
KF_COUNT_USED = 95902  # 5 messages already sent since the customer's last message
KF_NOT_API_STATE = 95903  # the session is queued for, or with, a person (states 2–4)
KF_BAD_TOKEN = 95904  # a sync_msg token unknown or older than 10 minutes
KF_BAD_EVENT_CODE = 95905  # a send_msg_on_event code unknown, spent or older than 20 s
REMINDED_ENOUGH = 95906  # a 4th reminder of one task within 24 h

SHANGHAI = timezone(timedelta(hours=8))


class Fault(Exception):
    """Answer the current request with this errcode."""

    def __init__(self, code: int, errmsg: str = ""):
        super().__init__(f"{code} {errmsg}")
        self.code = code
        self.errmsg = errmsg or "fake wecom refused the request"


class Ids:
    """Id-shaped strings (``wm…`` customers, ``wr…`` groups…), counted so runs are repeatable."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def next(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter):06d}FAKE"


def unix(at: datetime) -> int:
    return int(at.timestamp())


def month_of(at: datetime) -> tuple[int, int]:
    local = at.astimezone(SHANGHAI)
    return local.year, local.month


def days_in_month(at: datetime) -> int:
    year, month = month_of(at)
    return calendar.monthrange(year, month)[1]


def require(condition: object, code: int, errmsg: str) -> None:
    if not condition:
        raise Fault(code, errmsg)

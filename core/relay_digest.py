"""Relay lines under a burst: every order as its own line while the room's pace allows, one
digest of them when it does not.

The rule, asked when a room's turn comes with relay lines waiting (those queued before the
room's next other message, so a red packet announced by order 40 still follows the message
that shows order 40): at most ``max_lines`` lines fit one message, so they go as lines, each
order readable as itself; more than that means orders arrive faster than the room's pace can
list them, and the room gets one digest instead — how many orders in the minutes since the
oldest waiting line, and the top three sellers among them by orders (a tie goes to the one
who sold first). Nothing is dropped: the digest stands for every line it counts.

Worked example, ``max_lines`` 30 at 10:00:58: 12 lines waiting → the 12 lines. 312 lines
waiting, the oldest queued at 10:00:00, 李娜 120 of them, 张伟 80, 王芳 60, others 52 →
``Digest(orders=312, units=312, minutes=1, top=(("李娜", 120), ("张伟", 80), ("王芳", 60)))``,
posted as "过去 1 分钟出单 312 单，前三名：李** 120 单、张** 80 单、王** 60 单".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PendingLine:
    """A relay line waiting to be posted: who sold, how many units, when it was queued."""

    seller: str
    quantity: int
    queued_at: datetime


@dataclass(frozen=True)
class Digest:
    orders: int
    units: int
    minutes: int  # since the oldest line it stands for, rounded up, at least 1
    top: tuple[tuple[str, int], ...]  # (seller, orders), most first


def digest_of(lines: Sequence[PendingLine], max_lines: int, now: datetime, top: int = 3) -> Digest | None:
    """None when ``lines`` fit one message (post them as lines); otherwise their digest.

    >>> from datetime import UTC, timedelta
    >>> t = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    >>> digest_of([PendingLine("李娜", 1, t)] * 3, 30, t) is None
    True
    >>> digest_of([PendingLine("李娜", 2, t)] * 31, 30, t + timedelta(seconds=61))
    Digest(orders=31, units=62, minutes=2, top=(('李娜', 31),))
    """
    if len(lines) <= max_lines:
        return None
    counts: dict[str, int] = {}  # insertion order: who sold first wins a tie
    for line in lines:
        if line.seller:
            counts[line.seller] = counts.get(line.seller, 0) + 1
    first = {seller: i for i, seller in enumerate(counts)}
    ranked = sorted(counts.items(), key=lambda item: (-item[1], first[item[0]]))
    waited = (now - min(line.queued_at for line in lines)).total_seconds()
    return Digest(
        orders=len(lines),
        units=sum(line.quantity for line in lines),
        minutes=max(1, math.ceil(waited / 60)),
        top=tuple(ranked[:top]),
    )

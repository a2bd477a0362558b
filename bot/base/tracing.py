"""What a traced call wrote: per committed unit of work, one ``distbot.trace`` line per call
naming the ledger lines and outbox rows it wrote, by id (``bot.base.logs``).

A unit of work opened while a call is traced (a webhook, a chat batch) keeps a
:class:`Written` (``UnitOfWork.attached``). It notes the ledger lines its session flushes under
the trace current at the flush, and the outbox takes the ids of the rows it inserts under the
trace each row was queued for. Once the transaction has committed it logs what each call wrote;
after a rollback it logs nothing (nothing was written).

Example: a batch of two webhook orders, ``webhook:e-1`` and ``webhook:e-2``, runs in one unit of
work; each event is handled with its own trace set and flushed before the next, so the lines
read ``webhook:e-1 wrote ledger lines [1, 2], outbox [7]`` and ``webhook:e-2 wrote ledger lines
[3], outbox [8]``.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.base.logs import TRACE_LOGGER, trace
from bot.base.uow import UnitOfWork
from models.messaging import OutboxMessage
from models.orders import LedgerLine

traced = logging.getLogger(TRACE_LOGGER)


class Written:
    """The ids one unit of work wrote, per trace; logged once it has committed."""

    def __init__(self, uow: UnitOfWork):
        self.ledger_lines: dict[str, list[int]] = {}
        self.outbox: dict[str, list[int]] = {}
        # On this session only: an untraced unit of work pays nothing for tracing.
        event.listen(uow.session.sync_session, "after_flush", self._flushed)
        uow.after_commit(self.log)

    def _flushed(self, session: Session, _context: Any) -> None:
        current = trace.get()
        if not current:
            return
        for row in session.new:
            if isinstance(row, LedgerLine):
                self.ledger_lines.setdefault(current, []).append(row.id)
            elif isinstance(row, OutboxMessage):
                self.outbox.setdefault(current, []).append(row.id)

    def ledger(self, current: str, ids: list[int]) -> None:
        """Ledger lines written under the trace ``current`` without the ORM got ``ids``."""
        if current:
            self.ledger_lines.setdefault(current, []).extend(ids)

    def queued(self, current: str, ids: list[int]) -> None:
        """The outbox rows queued under the trace ``current`` got ``ids``."""
        if current:
            self.outbox.setdefault(current, []).extend(ids)

    def log(self) -> None:
        for current in dict.fromkeys([*self.ledger_lines, *self.outbox]):
            written = {"ledger_lines": self.ledger_lines.get(current, []), "outbox": self.outbox.get(current, [])}
            token = trace.set(current)  # the line belongs to that call, whichever task commits
            try:
                traced.info(
                    "%s wrote ledger lines %s, outbox %s",
                    current,
                    written["ledger_lines"],
                    written["outbox"],
                    extra={"fields": written},
                )
            finally:
                trace.reset(token)


def written(uow: UnitOfWork) -> Written:
    """The unit of work's record of what traced calls wrote (made on first use)."""
    return uow.attached(Written, lambda: Written(uow))

"""How ``distbot`` logs: one line per event, time first, and no timer chatter.

The bot itself logs a line per accepted order (``services.orders``), per handled batch of
messages (``bot.runtime.dispatch``) and per failed send (``bot.runtime.sender``), each with its ids.

With ``DISTBOT_LOG_FORMAT=json`` (or ``runtime.log_format: json``) each line is one JSON object
— ``at``, ``level``, ``logger``, ``message``, and ``trace`` when the line belongs to a webhook
call or a chat batch — and the ``distbot.trace`` logger adds, per committed unit of work of a
traced call, the ledger lines and outbox rows it wrote: a webhook's event id ties it to its
ledger lines and its messages (whose outbox ids the sender's lines and the transport name).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
from datetime import UTC, datetime

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# alembic: its set-up lines on every start; apscheduler: two INFO lines per timer run ("Running
# job …", "… executed successfully": the co-learning sync alone every 30 s). Their warnings
# (a missed run, an error in a job) still show.
QUIET = ("alembic", "apscheduler")
TRACE_LOGGER = "distbot.trace"

# The call the current task works for: ``webhook:<event id>`` (or the caller's X-Request-Id),
# ``chat:<message id>`` — set where the call comes in, read by every log line it leads to.
trace: contextvars.ContextVar[str] = contextvars.ContextVar("trace", default="")


class JsonLines(logging.Formatter):
    """One JSON object per line; extra fields given with ``extra={"fields": {...}}`` join it."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if current := trace.get():
            line["trace"] = current
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: int = logging.INFO, *, json_lines: bool | None = None) -> None:
    """Text lines, or JSON lines when ``json_lines`` (default: ``DISTBOT_LOG_FORMAT=json``)."""
    if json_lines is None:
        json_lines = os.environ.get("DISTBOT_LOG_FORMAT", "").lower() == "json"
    logging.basicConfig(level=level, format=FORMAT)
    root = logging.getLogger()
    if json_lines:
        for handler in root.handlers:
            handler.setFormatter(JsonLines())
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    # What a traced call wrote: structured logs only (a text log keeps one line per order).
    logging.getLogger(TRACE_LOGGER).setLevel(logging.INFO if json_lines else logging.WARNING)

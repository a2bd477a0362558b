"""The inbox spool: incoming events the database could not take yet, on local disk.

While the database is out, the dispatcher writes each event it takes here (one JSON line,
flushed) and lets the transport go on; once the database is back it handles them in order and
appends a ``{"done": seq}`` line after each committed batch. A stop with events still waiting
leaves them here, and the next start handles them before anything new. A ``kill -9`` loses
nothing written; at most the batch being committed at the kill is handled a second time.

The file holds only what is waiting: it is emptied when the last event is done. One process
per file: it is locked while open (a second process on the same file is refused at start).

Example line: ``{"seq":3,"event":{"type":"Message","id":"m1","sender":"wx-lina",…}}``.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from bot.base.transport import Event, FriendRequest, Message, RoomInvitation, RoomJoin, RoomLeave

log = logging.getLogger(__name__)
EVENT_TYPES: dict[str, type[Any]] = {
    t.__name__: t for t in (Message, FriendRequest, RoomJoin, RoomLeave, RoomInvitation)
}


def event_to_json(event: Event) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(event).__name__}
    for item in dataclasses.fields(event):
        value = getattr(event, item.name)
        data[item.name] = value.isoformat() if isinstance(value, datetime) else value
    return data


def event_from_json(data: dict[str, Any]) -> Event:
    """The event :func:`event_to_json` wrote: datetimes and tuples come back as such."""
    kind = EVENT_TYPES[str(data["type"])]
    values: dict[str, Any] = {}
    for item in dataclasses.fields(kind):
        if item.name not in data:
            continue  # a field added since: its default
        value = data[item.name]
        if "datetime" in str(item.type) and isinstance(value, str):
            value = datetime.fromisoformat(value)
        elif str(item.type).startswith("tuple") and isinstance(value, list):
            value = tuple(value)
        values[item.name] = value
    return kind(**values)  # type: ignore[no-any-return]


class SpoolInUse(Exception):
    """Another process holds the spool file."""


class Spool:
    """Events waiting for the database, in order: in memory, and in ``path`` when given."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        self.pending: deque[Event] = deque()
        self._seq = 0
        self._file: IO[str] | None = None
        self._write_failed = False

    def __len__(self) -> int:
        return len(self.pending)

    def open(self) -> int:
        """Lock the file and load what an earlier run left waiting; how many events."""
        if self.path is None or self._file is not None:
            return len(self.pending)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a+", encoding="utf-8", newline="\n")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            self._file = None
            raise SpoolInUse(f"{self.path} is in use by another process: give each process its own spool") from None
        self._file.seek(0)
        waiting: dict[int, Event] = {}
        done = 0
        for number, line in enumerate(self._file, 1):
            try:
                record = json.loads(line)
                if "done" in record:
                    done = max(done, int(record["done"]))
                else:
                    waiting[int(record["seq"])] = event_from_json(record["event"])
            except (ValueError, KeyError, TypeError) as error:  # a torn last line after a kill
                log.warning("%s:%d: skipping an unreadable line (%s)", self.path, number, error)
        loaded = [event for seq, event in sorted(waiting.items()) if seq > done]
        # Numbering goes on after the last line; done marks stay valid because the waiting
        # events are the last ones written (the file is emptied whenever nothing waits).
        self._seq = max([done, *waiting])
        self.pending.extend(loaded)
        if not self.pending:
            self._truncate()
        return len(loaded)

    def append(self, events: list[Event]) -> None:
        """Add ``events`` at the end, written and flushed before this returns."""
        self.pending.extend(events)
        self._write(events)

    def head(self, limit: int) -> list[Event]:
        return [self.pending[i] for i in range(min(limit, len(self.pending)))]

    def done(self, count: int) -> None:
        """The first ``count`` events are committed."""
        if count <= 0:
            return
        for _ in range(count):
            self.pending.popleft()
        if not self.pending:
            self._truncate()
        elif self._file is not None:
            self._line({"done": self._seq - len(self.pending)})

    def close(self) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the lock
            self._file = None

    def _write(self, events: Any) -> None:
        if self._file is None:
            return
        try:
            for event in events:
                self._seq += 1
                line = json.dumps({"seq": self._seq, "event": event_to_json(event)}, ensure_ascii=False)
                self._file.write(line + "\n")
            self._file.flush()
        except OSError as error:
            if not self._write_failed:  # keep going in memory: a stop would lose them, a restart not
                log.error("inbox spool %s: cannot write (%s); waiting events are kept in memory only", self.path, error)
            self._write_failed = True
        else:
            self._write_failed = False

    def _line(self, record: dict[str, Any]) -> None:
        assert self._file is not None
        try:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
        except OSError as error:
            log.error("inbox spool %s: cannot write (%s)", self.path, error)

    def _truncate(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            self._file.flush()
            self._seq = 0

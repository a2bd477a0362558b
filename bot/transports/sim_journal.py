"""The simulated world's memory: an append-only JSONL file, one change per line.

Every change is written before the world applies it — one ``write(2)`` of the whole line on
an unbuffered file, so it is in the operating system's hands at once and a ``kill -9`` loses at
most the line being written; a torn last line is cut off when the journal is read back.

Cost: one encoder made once (``json.dumps`` with options builds a new one at every call) and
one system call per change, no text-layer buffer to flush. ``bench/dispatch.py`` measures the
journal apart from the bot.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_JOURNAL = "sim-world.jsonl"
Record = dict[str, Any]


class Journal:
    def __init__(self, path: str | Path = DEFAULT_JOURNAL):
        self.path = Path(path)
        self._fd: int | None = None
        self._encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def read(self) -> list[Record]:
        """Every record in order. A last line without its newline (the process died while
        writing it) is removed from the file, so the next append starts on a clean line."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            log.warning("%s: dropping a torn last line (%d bytes)", self.path, len(data) - end)
            with self.path.open("r+b") as file:
                file.truncate(end)
        records: list[Record] = []
        for number, line in enumerate(data[:end].splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                log.warning("%s:%d: skipping a line that is not JSON", self.path, number)
                continue
            if isinstance(record, dict) and "op" in record:
                records.append(record)
        return records

    def append(self, record: Record) -> None:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        line = (self._encode(record) + "\n").encode("utf-8")
        written = os.write(self._fd, line)
        while written < len(line):  # a short write (a signal, a full disk that freed up): the rest
            written += os.write(self._fd, line[written:])

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

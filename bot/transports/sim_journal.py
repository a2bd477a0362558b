"""The simulated world's memory: an append-only JSONL file, one change per line.

Every change is written and flushed before the world applies it, so a ``kill -9`` loses at
most the line being written; a torn last line is cut off when the journal is read back.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger(__name__)

DEFAULT_JOURNAL = "sim-world.jsonl"
Record = dict[str, Any]


class Journal:
    def __init__(self, path: str | Path = DEFAULT_JOURNAL):
        self.path = Path(path)
        self._file: TextIO | None = None

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
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8", newline="\n")
        self._file.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

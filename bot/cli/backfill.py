"""``distbot import-orders FILE.csv``: back-fill order events from a CSV file in the order-file
format (:mod:`services.order_file`). Each row goes through the webhook's validation and the same
pipeline in its own unit of work (:func:`services.orders.process_event`), recorded with source
``import``. Importing a file twice is harmless: every line already imported is counted as a
duplicate and nothing changes."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from bot.app import prepare
from bot.base.env import Env
from services.errors import Duplicate, ServiceError
from services.order_file import Row, event_of, first_line, read_events
from services.orders import process_event

SOURCE = "import"
log = logging.getLogger(__name__)


@dataclass
class ImportSummary:
    """What became of each line: accepted and duplicate line numbers, and the rejected lines
    with their reasons (all in file order)."""

    accepted: list[int] = field(default_factory=list)
    duplicate: list[int] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    source: str = ""

    @property
    def lines(self) -> int:
        return len(self.accepted) + len(self.duplicate) + len(self.rejected)


async def import_file(env: Env, path: Path, *, progress: bool = True) -> ImportSummary:
    """Import every line of ``path`` (see the module's docstring), then dispose the engine.

    The file is read and its header checked before the database is touched; a fresh database
    is migrated (and the catalog synced) first."""
    try:
        rows = read_events(Path(path))
        await prepare(env)
        summary = ImportSummary(source=str(path))
        show = progress and sys.stderr.isatty()
        for row in tqdm(rows, total=len(rows), disable=not show, unit="line", desc=Path(path).name):
            status, reason = await _import_row(env, row)
            if status == "accepted":
                summary.accepted.append(row.line)
            elif status == "duplicate":
                summary.duplicate.append(row.line)
            else:
                summary.rejected.append((row.line, reason))
        return summary
    finally:
        await env.db.dispose()


async def _import_row(env: Env, row: Row) -> tuple[str, str]:
    """(accepted | duplicate | rejected, the reason for a rejection)."""
    event, problem = event_of(row, now=env.clock.now(), skus=env.settings.courses)
    if event is None:
        return "rejected", problem
    try:
        await process_event(env, event, SOURCE)
    except Duplicate:
        return "duplicate", ""
    except ServiceError as refusal:
        return "rejected", f"{refusal.code}: {refusal.reason}"
    except Exception as exc:
        # What the webhook would answer with a 500 (e.g. an amount too large for the database):
        # this line's unit of work was rolled back; the other lines go on.
        log.exception("line %d of the import failed", row.line)
        return "rejected", f"error: {type(exc).__name__}: {first_line(exc)}"
    return "accepted", ""


def print_summary(summary: ImportSummary, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    print(
        f"{summary.source}: {summary.lines} line(s) — {len(summary.accepted)} accepted,"
        f" {len(summary.duplicate)} duplicate, {len(summary.rejected)} rejected",
        file=out,
    )
    if summary.accepted:
        print(f"accepted: {_ranges(summary.accepted)}", file=out)
    if summary.duplicate:
        print(f"duplicate (already imported, nothing changed): {_ranges(summary.duplicate)}", file=out)
    if summary.rejected:
        print("rejected (nothing written for these lines):", file=out)
        for line, reason in summary.rejected:
            print(f"  line {line}: {reason}", file=out)


def _ranges(lines: Iterable[int]) -> str:
    """``2, 3, 4, 7`` → ``lines 2–4, 7``."""
    spans: list[list[int]] = []
    for line in lines:
        if spans and line == spans[-1][1] + 1:
            spans[-1][1] = line
        else:
            spans.append([line, line])
    parts = [str(a) if a == b else f"{a}–{b}" for a, b in spans]
    return f"line{'s' if len(parts) > 1 or spans[0][0] != spans[0][1] else ''} {', '.join(parts)}"

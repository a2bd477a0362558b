"""``distbot import-orders FILE.csv``: back-fill order events from a CSV file.

The import format (also read by the planned what-if command: :func:`read_events`, :func:`event_of`):

- UTF-8 text (a byte-order mark is tolerated), comma separated, standard CSV quoting.
- A header row naming the columns, in any order::

    event_id,type,order_id,course_sku,quantity,amount,buyer_id,buyer_name,buyer_phone,ref,occurred_at

  Every column is required except ``buyer_phone`` and ``ref``, which may be left out of the
  header altogether. An unknown or repeated column is an error and nothing is imported.
- One order event per row, in the order they happened; the rows are processed in file order.
  An empty cell means "not given": ``quantity`` then defaults to 1, ``amount`` to 0, and a
  row with neither ``buyer_id`` nor ``buyer_name`` has no buyer (fine for a refund).
  ``type`` is paid | refunded | qualified | checkin_completed; ``amount`` is yuan with at
  most two decimals (``399.00``); ``occurred_at`` is ISO 8601 with a timezone
  (``2026-11-25T10:00:00+08:00``) or Unix seconds; ``ref`` is the distributor's personal code.
- Blank lines are skipped. Line numbers are the file's physical lines (the header is line 1).

Example::

    event_id,type,order_id,course_sku,quantity,amount,buyer_id,buyer_name,buyer_phone,ref,occurred_at
    e-1,paid,o-1,XH-MATH-S1,1,399.00,buyer-1,陈静,13812345678,DEMOC001,2026-11-25T10:00:00+08:00
    e-2,refunded,o-1,XH-MATH-S1,0,133.00,,,,,2026-11-26T10:00:00+08:00

Each row becomes the event the webhook receives and goes through the same validation
(:func:`services.order_events.parse_event`) and the same pipeline in its own unit of work
(:func:`bot.web.webhooks.process_event`), recorded with source ``import``. Importing a file twice
is harmless: every line already imported is counted as a duplicate and nothing changes.
"""

from __future__ import annotations

import csv
import io
import logging
import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from bot.app import prepare
from bot.base.env import Services
from bot.web.webhooks import process_event
from services.order_events import OrderEventIn, parse_event

COLUMNS = (
    "event_id",
    "type",
    "order_id",
    "course_sku",
    "quantity",
    "amount",
    "buyer_id",
    "buyer_name",
    "buyer_phone",
    "ref",
    "occurred_at",
)
OPTIONAL_COLUMNS = frozenset({"buyer_phone", "ref"})
SOURCE = "import"
log = logging.getLogger(__name__)
# Where parse_event names a field of the JSON event, the CSV column it came from.
_FIELD_NAMES = {
    "buyer": "buyer_id, buyer_name",
    "buyer.id": "buyer_id",
    "buyer.name": "buyer_name",
    "buyer.phone": "buyer_phone",
}


class ImportFileError(ValueError):
    """The file cannot be imported at all (encoding, header); nothing was imported."""


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


@dataclass(frozen=True)
class Row:
    """One CSV record: its first physical line, and the webhook-shaped event or what is wrong."""

    line: int
    data: dict[str, Any] | None
    problem: str | None = None


def read_events(path: Path) -> list[Row]:
    """Every record of the file as the webhook's event dict (not yet validated).

    Raises ImportFileError (a ValueError), before anything is imported, when the file cannot
    be read as this format (not UTF-8, no header, a missing, unknown or repeated column)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFileError(f"{path}: the file is empty; the first line must name the columns")
        columns = _columns(path, header)
        rows: list[Row] = []
        previous_end = reader.line_num
        for record in reader:
            first_line, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(columns):
                rows.append(Row(first_line, None, f"expected {len(columns)} fields, found {len(record)}"))
                continue
            rows.append(Row(first_line, to_event(dict(zip(columns, record, strict=True)))))
    except csv.Error as exc:
        raise ImportFileError(f"{path}, line {reader.line_num}: not readable as CSV ({exc})") from None
    return rows


def _columns(path: Path, header: list[str]) -> list[str]:
    columns = [name.strip() for name in header]
    problems = []
    unknown = [name for name in columns if name not in COLUMNS]
    if unknown:
        problems.append(f"unknown column(s) {', '.join(repr(n) for n in unknown)}")
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    missing = [name for name in COLUMNS if name not in columns and name not in OPTIONAL_COLUMNS]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if problems:
        raise ImportFileError(
            f"{path}, line 1: {'; '.join(problems)}. The header must name the columns {','.join(COLUMNS)}"
            f" ({' and '.join(sorted(OPTIONAL_COLUMNS))} may be left out); nothing was imported"
        )
    return columns


def to_event(cells: dict[str, str]) -> dict[str, Any]:
    """A CSV record (column → cell) as the webhook's JSON event; empty cells are left out."""
    given = {name: value.strip() for name, value in cells.items() if value.strip()}
    event: dict[str, Any] = {}
    for name in ("event_id", "type", "order_id", "course_sku", "quantity", "amount", "ref", "occurred_at"):
        if name in given:
            event[name] = given[name]
    if event.get("occurred_at", "").isdigit():
        event["occurred_at"] = int(event["occurred_at"])  # Unix seconds, as the webhook takes them
    buyer = {key: given[f"buyer_{key}"] for key in ("id", "name", "phone") if f"buyer_{key}" in given}
    if "id" in buyer or "name" in buyer:
        event["buyer"] = buyer
    return event


async def import_file(services: Services, path: Path, *, progress: bool = True) -> ImportSummary:
    """Import every line of ``path`` (see the module's docstring), then dispose the engine.

    The file is read and its header checked before the database is touched; a fresh database
    is migrated (and the catalog synced) first."""
    try:
        rows = read_events(Path(path))
        await prepare(services)
        summary = ImportSummary(source=str(path))
        show = progress and sys.stderr.isatty()
        for row in tqdm(rows, total=len(rows), disable=not show, unit="line", desc=Path(path).name):
            status, reason = await _import_row(services, row)
            if status == "accepted":
                summary.accepted.append(row.line)
            elif status == "duplicate":
                summary.duplicate.append(row.line)
            else:
                summary.rejected.append((row.line, reason))
        return summary
    finally:
        await services.db.dispose()


async def _import_row(services: Services, row: Row) -> tuple[str, str]:
    """(accepted | duplicate | rejected, the reason for a rejection)."""
    event, problem = event_of(row, now=services.clock.now(), skus=services.settings.courses)
    if event is None:
        return "rejected", problem
    try:
        outcome = await process_event(services, event, SOURCE)
    except Exception as exc:
        # What the webhook would answer with a 500 (e.g. an amount too large for the database):
        # this line's unit of work was rolled back; the other lines go on.
        log.exception("line %d of the import failed", row.line)
        return "rejected", f"error: {type(exc).__name__}: {_first_line(exc)}"
    if outcome.status == "rejected":
        return "rejected", f"{outcome.payload['code']}: {outcome.payload['reason']}"
    return outcome.status, ""


def event_of(
    row: Row, *, now: datetime | None = None, skus: Collection[str] | None = None
) -> tuple[OrderEventIn | None, str]:
    """The row's event, checked as the webhook checks it (with ``now`` and ``skus`` as
    :func:`services.order_events.parse_event` takes them), or what is wrong with it (naming the
    CSV's columns)."""
    if row.data is None:
        return None, str(row.problem)
    try:
        event, errors = parse_event(row.data, now=now, skus=skus)
    except (ArithmeticError, OSError, TypeError, ValueError) as exc:  # e.g. a Unix time beyond any clock
        return None, f"not a valid event: {_first_line(exc)}"
    if event is None:
        return None, "; ".join(_in_csv_terms(e) for e in errors)
    return event, ""


def _first_line(exc: BaseException) -> str:
    return next(iter(str(exc).splitlines()), "")


def _in_csv_terms(error: str) -> str:
    where, _, message = error.partition(": ")
    if where == "body":
        return message
    return f"{_FIELD_NAMES.get(where, where)}: {message}"


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

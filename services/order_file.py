"""The order-file format: order events as CSV, read by ``distbot import-orders`` (a back-fill)
and ``distbot whatif --orders`` (a replay). Reading a file writes nothing.

The format:

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

Each row becomes the event the webhook receives (:func:`event_of`) and goes through the same validation
(:func:`services.order_events.parse_event`) and the same pipeline in its own unit of work
(:func:`services.orders.process_event`), recorded with source ``import``. Importing a file twice
is harmless: every line already imported is counted as a duplicate and nothing changes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from services.errors import Invalid
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
# Where parse_event names a field of the JSON event, the CSV column it came from.
_FIELD_NAMES = {
    "buyer": "buyer_id, buyer_name",
    "buyer.id": "buyer_id",
    "buyer.name": "buyer_name",
    "buyer.phone": "buyer_phone",
}



class ImportFileError(Invalid):
    """The file cannot be imported at all (encoding, header); nothing was imported."""


@dataclass(frozen=True)
class Row:
    """One CSV record: its first physical line, and the webhook-shaped event or what is wrong."""

    line: int
    data: dict[str, Any] | None
    problem: str | None = None


def read_events(path: Path) -> list[Row]:
    """Every record of the file as the webhook's event dict (not yet validated).

    Raises :class:`ImportFileError`, before anything is imported, when the file cannot
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
        return None, f"not a valid event: {first_line(exc)}"
    if event is None:
        return None, "; ".join(_in_csv_terms(e) for e in errors)
    return event, ""


def first_line(exc: BaseException) -> str:
    return next(iter(str(exc).splitlines()), "")


def _in_csv_terms(error: str) -> str:
    where, _, message = error.partition(": ")
    if where == "body":
        return message
    return f"{_FIELD_NAMES.get(where, where)}: {message}"

"""JSON in and out of the bot (amounts stay Decimal, never float, both ways), and the row
ids its paths carry.

Every request body is read through :func:`loads`, which refuses — as :class:`BodyRefused`, a
``ValueError`` the endpoints answer with 422 — what would otherwise hold the event loop or
fail later with a 500: a number literal with an absurd exponent or too many digits (turning
``1e400000`` into an int takes seconds, ``1e999999`` minutes), ``NaN``/``Infinity`` (floats),
nesting deeper than the decoder can follow, and lone UTF-16 surrogates (``"\\ud800"``: no
database or journal can store them as UTF-8).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

MAX_NUMBER_CHARS = 40  # far more digits than any amount, quantity, id or Unix time needs
MAX_EXPONENT = 40  # 1e40 is already absurd for every number the bot reads; 1e400000 is an attack


class BodyRefused(ValueError):
    """The body cannot be read as JSON the bot accepts; the message says why, for the caller."""


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any, **options: Any) -> str:
    return json.dumps(data, default=_default, ensure_ascii=False, **options)


def _decimal(literal: str) -> Decimal:
    """A JSON number with a fraction or exponent, as Decimal — bounded before anything
    converts it (Decimal keeps the exponent as a plain int; an int() of it would not)."""
    if len(literal) > MAX_NUMBER_CHARS:
        raise BodyRefused(f"a number in the body has more than {MAX_NUMBER_CHARS} characters")
    value = Decimal(literal)
    if value and not -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT:
        raise BodyRefused(f"a number in the body is out of range: {literal}")
    if not value and abs(value.as_tuple().exponent) > MAX_EXPONENT:  # type: ignore[arg-type]
        raise BodyRefused(f"a number in the body is out of range: {literal}")
    return value


def _int(literal: str) -> int:
    if len(literal) > MAX_NUMBER_CHARS:
        raise BodyRefused(f"a number in the body has more than {MAX_NUMBER_CHARS} digits")
    return int(literal)


def _constant(name: str) -> Any:
    raise BodyRefused(f"{name} is not a number the bot accepts")


def _check_text(data: Any) -> None:
    """Every string (keys too) must be encodable as UTF-8: a lone surrogate is refused. Walked
    with a stack, not recursion: the decoder already bounded the depth."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise BodyRefused("the body holds text that is not valid Unicode (a lone surrogate)") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def loads(text: str | bytes) -> Any:
    """The body as Python data (fractions and exponents as Decimal); raises ValueError
    (:class:`BodyRefused` with a reason for the caller, or the decoder's own error)."""
    try:
        data = json.loads(text, parse_float=_decimal, parse_int=_int, parse_constant=_constant)
    except RecursionError:
        raise BodyRefused("the body is nested too deeply") from None
    _check_text(data)
    return data


def body_problem(error: ValueError) -> str:
    """What to tell the caller about a body :func:`loads` refused."""
    return str(error) if isinstance(error, BodyRefused) else "the body is not valid JSON"


def row_id(raw: str) -> int | None:
    """A row id from a URL path, or None when no row can have it: ids are positive and fit a
    BIGINT ("0", "-1", "9223372036854775808" and "１" name nothing — they are a 404, not an
    error from the database driver)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        return None
    value = int(raw)
    return value if value > 0 else None

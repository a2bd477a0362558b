"""JSON in and out of the web layer: amounts stay Decimal (never float) both ways."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiohttp import web


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


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


def reply(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)

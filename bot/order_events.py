"""The order event the shop sends (webhook body, or one CSV line of a back-fill), checked.

``{event_id, type: paid|refunded|qualified|checkin_completed, order_id, course_sku, quantity,
amount, buyer: {id, name, phone?}, ref?, occurred_at}``. Amounts are yuan as a JSON string or
number (read as Decimal, never float); ``occurred_at`` is ISO 8601 with a timezone or Unix
seconds. ``paid`` needs a buyer, quantity ≥ 1; ``refunded`` a positive amount (quantity =
units returned to stock, may be 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from core.money import is_fen_exact, to_decimal
from core.products import EventType

MAX_AMOUNT = Decimal("100000000.00")  # a hundred million yuan: far above any order, far below BIGINT fen


def _amount(value: Any) -> Decimal:
    if isinstance(value, float):
        raise ValueError('amount must be sent as a string or an exact number, e.g. "399.00"')
    try:
        amount = to_decimal(value)
    except TypeError:
        raise ValueError('must be an amount in yuan, e.g. "399.00"') from None
    if amount > MAX_AMOUNT:
        raise ValueError(f"must not exceed {MAX_AMOUNT} yuan")
    if amount < 0:
        raise ValueError("must not be negative")
    if not is_fen_exact(amount):
        raise ValueError("must be whole fen (at most two decimals)")
    return amount


def _moment(value: Any) -> datetime:
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, (int, Decimal)):
        try:
            return datetime.fromtimestamp(int(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("not a Unix time in seconds") from None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("not an ISO 8601 time, e.g. 2026-11-25T10:00:00+08:00") from None
        if moment.tzinfo is None:
            raise ValueError("needs a timezone, e.g. +08:00")
        return moment.astimezone(UTC)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    raise ValueError("not a time")


Amount = Annotated[Decimal, BeforeValidator(_amount)]
Moment = Annotated[datetime, BeforeValidator(_moment)]
Id = Annotated[str, Field(min_length=1, max_length=128)]


class BuyerIn(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)
    id: Id
    name: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(None, max_length=32)


class OrderEventIn(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    event_id: Id
    type: EventType
    order_id: Id
    course_sku: Id
    quantity: int = Field(1, ge=0, le=10_000)
    amount: Amount = Decimal(0)
    buyer: BuyerIn | None = None
    ref: str | None = Field(None, max_length=64)
    occurred_at: Moment

    @model_validator(mode="after")
    def _by_type(self) -> OrderEventIn:
        if self.type is EventType.PAID:
            if self.buyer is None:
                raise ValueError("a paid event needs the buyer: {id, name, phone?}")
            if self.quantity < 1:
                raise ValueError("a paid event needs quantity ≥ 1")
        if self.type is EventType.REFUNDED and self.amount <= 0:
            raise ValueError("a refund needs a positive amount")
        return self


def parse_event(data: Any) -> tuple[OrderEventIn | None, list[str]]:
    """The event, or the list of what is wrong with it (field: problem)."""
    if not isinstance(data, Mapping):
        return None, ["the body must be a JSON object"]
    try:
        return OrderEventIn.model_validate(data), []
    except ValidationError as exc:
        return None, [_describe(e) for e in exc.errors()]


def _describe(error: Mapping[str, Any]) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "body"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "required"
    return f"{where}: {message}"

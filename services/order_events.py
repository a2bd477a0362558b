"""The order event the shop sends (webhook body, or one CSV line of a back-fill), checked.

``{event_id, type: paid|refunded|qualified|checkin_completed, order_id, course_sku, quantity,
amount, buyer: {id, name, phone?}, ref?, occurred_at}``. Amounts are yuan as a JSON string or
number in ASCII digits (read as Decimal, never float; "３９９" and "1_000" are refused);
``quantity`` is a whole number (``true`` is not one); ``occurred_at`` is ISO 8601 with a
timezone or Unix seconds, from :data:`EARLIEST` up to :data:`CLOCK_SKEW` ahead of the server
clock. ``paid`` needs a buyer, quantity ≥ 1; ``refunded`` a positive amount (quantity = units
returned to stock, may be 0). Given the catalog's skus, an unknown sku is one more problem.

Every problem is reported, each as ``field: what is wrong`` in plain words:

>>> from datetime import UTC, datetime
>>> now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
>>> parse_event({"event_id": "e-1", "type": "paid", "order_id": "o-1", "course_sku": "NOPE",
...              "quantity": True, "amount": "３９９", "occurred_at": "2026-11-25T10:09:00+08:00"},
...             now=now, skus={"XH-MATH-S1"})[1]  # doctest: +NORMALIZE_WHITESPACE
["course_sku: unknown course sku 'NOPE'",
 'quantity: must be a whole number from 0 to 10000, e.g. 1',
 'amount: must be yuan in ASCII digits, e.g. "399.00"',
 'buyer: required for a paid event: {id, name, phone?}',
 'occurred_at: is 9 minutes ahead of the server clock; at most 5 minutes are allowed']
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from core.money import FEN, is_fen_exact, to_decimal
from core.products import EventType

MAX_AMOUNT = Decimal("100000000.00")  # a hundred million yuan: far above any order, far below BIGINT fen
MAX_QUANTITY = 10_000
# The shop's clock and ours may differ a little; an order further ahead than this has not
# happened yet. The same five minutes as the signed timestamp's tolerance.
CLOCK_SKEW = timedelta(minutes=5)
# No order of the platform can be older: WeChat red packets and group selling of courses as
# this platform runs them did not exist before 2015. Older dates are typos or Unix time 0.
EARLIEST = datetime(2015, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # without a clock to compare with (a what-if replay)


def _amount(value: Any) -> Decimal:
    if isinstance(value, float):
        raise ValueError('must be sent as a string or an exact number, e.g. "399.00"')
    try:
        amount = to_decimal(value)
    except (TypeError, ValueError):
        raise ValueError('must be yuan in ASCII digits, e.g. "399.00"') from None
    if amount > MAX_AMOUNT:
        raise ValueError(f"must not exceed {MAX_AMOUNT} yuan")
    if amount < 0:
        raise ValueError("must not be negative")
    if not is_fen_exact(amount):
        raise ValueError("must be whole fen (at most two decimals)")
    return amount.quantize(FEN)  # "1E+2" is stored and replayed as "100.00"


def _quantity(value: Any) -> int:
    """A whole number: an int, or ASCII digits in a string (a CSV cell). Not a bool (JSON
    ``true`` is an int to Python), not 2.0, not "２"."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 6:
        number = int(value.strip())
    if number is None or not 0 <= number <= MAX_QUANTITY:
        raise ValueError(f"must be a whole number from 0 to {MAX_QUANTITY}, e.g. 1")
    return number


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
        try:
            return moment.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+14:00 lies before the first representable instant
            raise ValueError(f"is before {EARLIEST:%Y-%m-%d}; no order of the platform is that old") from None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    raise ValueError("not a time")


Amount = Annotated[Decimal, BeforeValidator(_amount)]
Quantity = Annotated[int, BeforeValidator(_quantity)]
Moment = Annotated[datetime, BeforeValidator(_moment)]
Id = Annotated[str, Field(min_length=1, max_length=128)]


class BuyerIn(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)
    id: Id
    name: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(None, max_length=32)


class OrderEventIn(BaseModel):
    """Fields are checked in this order; a check that depends on ``type`` sees it only when
    ``type`` itself is valid. Each problem names its field (no whole-body errors)."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    event_id: Id
    type: EventType
    order_id: Id
    course_sku: Id
    quantity: Quantity = Field(1, validate_default=True)
    amount: Amount = Field(Decimal(0), validate_default=True)
    buyer: BuyerIn | None = Field(None, validate_default=True)
    ref: str | None = Field(None, max_length=64)
    occurred_at: Moment

    @field_validator("course_sku")
    @classmethod
    def _known_sku(cls, sku: str, info: ValidationInfo) -> str:
        skus = (info.context or {}).get("skus")
        if skus is not None and sku not in skus:
            raise ValueError(f"unknown course sku {sku!r}")
        return sku

    @field_validator("quantity")
    @classmethod
    def _paid_quantity(cls, quantity: int, info: ValidationInfo) -> int:
        if info.data.get("type") is EventType.PAID and quantity < 1:
            raise ValueError("must be at least 1 for a paid event")
        return quantity

    @field_validator("amount")
    @classmethod
    def _refund_amount(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        if info.data.get("type") is EventType.REFUNDED and amount <= 0:
            raise ValueError("must be positive for a refund")
        return amount

    @field_validator("buyer")
    @classmethod
    def _paid_buyer(cls, buyer: BuyerIn | None, info: ValidationInfo) -> BuyerIn | None:
        if buyer is None and info.data.get("type") is EventType.PAID:
            raise ValueError("required for a paid event: {id, name, phone?}")
        return buyer

    @field_validator("occurred_at")
    @classmethod
    def _plausible(cls, moment: datetime, info: ValidationInfo) -> datetime:
        if moment < EARLIEST:
            raise ValueError(f"is before {EARLIEST:%Y-%m-%d}; no order of the platform is that old")
        now = (info.context or {}).get("now")
        if now is not None and moment > now + CLOCK_SKEW:
            ahead = int((moment - now).total_seconds() // 60)
            limit = int(CLOCK_SKEW.total_seconds() // 60)
            raise ValueError(f"is {ahead} minutes ahead of the server clock; at most {limit} minutes are allowed")
        if moment >= LATEST:
            raise ValueError(f"is after {LATEST:%Y-%m-%d}; check the year")
        return moment


def parse_event(
    data: Any, *, now: datetime | None = None, skus: Collection[str] | None = None
) -> tuple[OrderEventIn | None, list[str]]:
    """The event, or every problem with it (``field: problem``). With ``now``, a time more
    than :data:`CLOCK_SKEW` ahead is refused; with ``skus``, an unknown course sku is."""
    if not isinstance(data, Mapping):
        return None, ["the body must be a JSON object"]
    try:
        return OrderEventIn.model_validate(data, context={"now": now, "skus": skus}), []
    except ValidationError as exc:
        return None, [_describe(e) for e in exc.errors()]


_PLAIN = {
    "missing": "required",
    "string_type": "must be text",
    "string_too_short": "must not be empty",
    "enum": f"must be one of {', '.join(t.value for t in EventType)}",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
}


def _describe(error: Mapping[str, Any]) -> str:
    """One pydantic error in the words of the rest of the API."""
    where = ".".join(str(p) for p in error["loc"]) or "body"
    kind = error["type"]
    if kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
    elif kind == "string_too_long":
        message = f"must be at most {error['ctx']['max_length']} characters"
    else:
        message = _PLAIN.get(kind, str(error["msg"]))
    if where == "buyer" and kind in ("model_type", "model_attributes_type", "dict_type"):
        message += ": {id, name, phone?}"
    return f"{where}: {message}"


def stored_fields(event: OrderEventIn) -> dict[str, Any]:
    """The columns of an ``order_events`` row beside its payload: the fields a what-if replay
    reads, as the payload holds them.

    >>> e = OrderEventIn.model_validate({"event_id": "e-1", "type": "paid", "order_id": "o-1",
    ...     "course_sku": "KX-1", "amount": "399", "buyer": {"id": "b-1", "name": "王"},
    ...     "ref": "DEMOC002", "occurred_at": "2026-11-01T10:00:00+08:00"})
    >>> stored_fields(e)
    {'course_sku': 'KX-1', 'quantity': 1, 'amount': Decimal('399.00'), 'buyer_id': 'b-1', 'ref': 'DEMOC002'}
    """
    buyer = event.buyer.id if event.buyer is not None else None
    return {
        "course_sku": event.course_sku,
        "quantity": event.quantity,
        "amount": event.amount,
        "buyer_id": buyer,
        "ref": event.ref,
    }

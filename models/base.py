"""Declarative base, column types and conventions shared by every table.

- Money is stored as whole fen in a BIGINT (exact on SQLite and PostgreSQL alike, and SQL
  sums stay exact); Python sees ``Decimal`` yuan. A float or a sub-fen amount is refused.
- Timestamps are timezone-aware UTC in Python whatever the database keeps.
- Constraint names follow one convention so migrations are stable across databases.
- Relationships default to ``lazy="raise"``: no I/O hides behind an attribute.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, CursorResult, DateTime, MetaData, Result, func, type_coerce
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from core.money import FEN, is_fen_exact, to_decimal

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Money(TypeDecorator[Decimal]):
    """Decimal yuan in Python, whole fen (BIGINT) in the database."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        amount = to_decimal(value)
        if not is_fen_exact(amount):
            raise ValueError(f"amount {amount} is not whole fen")
        return int(amount * 100)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(FEN)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes; naive values are refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def money_sum(expression: Any) -> Any:
    """SUM of a money expression as Decimal yuan (0.00 when there are no rows).

    The database returns whole fen whatever the expression; arithmetic such as
    ``amount - refunded`` loses the Money type in SQLAlchemy, so every money sum goes through
    here and is read back as Money."""
    return type_coerce(func.coalesce(func.sum(expression), 0), Money())


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched. ``session.execute`` is typed as returning a
    plain ``Result``; for those statements it is a ``CursorResult``, which knows."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} of a statement that returns rows has no row count")
    return int(result.rowcount or 0)

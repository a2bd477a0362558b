"""Money and shares, exactly.

Amounts are ``Decimal`` yuan. Shares of a pool are exact ``Fraction``s, so a share written
"5/9" stays five ninths until an amount is rounded. Rounding happens in one place only,
:func:`to_fen`: half-up (a half fen goes away from zero) to 0.01 yuan.

Example: 180 yuan × 5/9 = 100 exactly → 100.00; 0.05 yuan × 1/2 = 0.025 → 0.03.

``float`` is refused everywhere: ``to_decimal(0.1)`` raises ``TypeError``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

FEN = Decimal("0.01")
ZERO = Decimal("0.00")

# An amount as text: ASCII digits, an optional point and sign, at most a two-digit exponent.
# Python's Decimal() would also take "３９９" (full-width digits) and "1_000": both are refused,
# as is "1e400000" (an exponent whose conversion to an integer would take minutes).
_AMOUNT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,2})?")
_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")
_FRACTION = re.compile(r"^\s*([0-9]+)\s*/\s*([0-9]+)\s*$")


def to_decimal(value: object) -> Decimal:
    """An amount as ``Decimal``: from Decimal, int or a numeric string; never from float.

    >>> to_decimal("399.00"), to_decimal(" 12 ")
    (Decimal('399.00'), Decimal('12'))
    >>> to_decimal("３９９")
    Traceback (most recent call last):
    ValueError: not an amount: '３９９' (write yuan in ASCII digits, e.g. 399.00)
    """
    if isinstance(value, (bool, float)):
        raise TypeError(f"money must not be a float or bool: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").lower() in ("nan", "snan", "inf", "infinity"):
            raise ValueError(f"not a finite amount: {value!r}")
        if not _AMOUNT.fullmatch(text):
            raise ValueError(f"not an amount: {value!r} (write yuan in ASCII digits, e.g. 399.00)")
        result = Decimal(text)
    else:
        raise TypeError(f"not an amount: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return result


def to_fen(value: Decimal | Fraction | int) -> Decimal:
    """Round to the fen, half-up: the one place amounts are rounded.

    >>> to_fen(Fraction(1, 40))   # 0.025
    Decimal('0.03')
    >>> to_fen(Decimal("-0.025"))
    Decimal('-0.03')
    """
    if isinstance(value, (float, bool)):
        raise TypeError(f"money must not be a float: {value!r}")
    # Integer arithmetic on the exact ratio: no Fraction is built (this runs for every line of
    # every order). The result is ``cents`` fen, written with two decimals.
    numerator, denominator = value.as_integer_ratio()
    cents = (abs(numerator) * 200 // denominator + 1) // 2
    return Decimal(-cents if numerator < 0 else cents).scaleb(-2)


def is_fen_exact(value: Decimal) -> bool:
    """True when ``value`` has no part smaller than a fen (e.g. 12.30, not 12.305)."""
    return value == value.quantize(FEN)


def parse_share(value: object) -> Fraction:
    """A share of a pool from "80%", "5/9", Decimal("0.8"), "0.8", 0 or 1; 0 ≤ share ≤ 1.

    >>> parse_share("80%"), parse_share("5/9"), parse_share(Decimal("0.8"))
    (Fraction(4, 5), Fraction(5, 9), Fraction(4, 5))
    """
    if isinstance(value, (bool, float)):
        raise TypeError(f"a share must not be a float: {value!r}")
    if isinstance(value, Fraction):
        share = value
    elif isinstance(value, (int, Decimal)):
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValueError(f"not a share: {value!r} (write 80%, 0.8 or 4/5)")
        share = Fraction(value)
    elif isinstance(value, str):
        if match := _PERCENT.match(value):
            share = Fraction(Decimal(match.group(1))) / 100
        elif match := _FRACTION.match(value):
            denominator = int(match.group(2))
            if denominator == 0:
                raise ValueError(f"a share cannot divide by zero: {value!r}")
            share = Fraction(int(match.group(1)), denominator)
        else:
            try:
                share = Fraction(Decimal(value.strip()))
            except (InvalidOperation, ValueError, OverflowError):  # OverflowError: "inf", "Infinity"
                raise ValueError(f"not a share: {value!r} (write 80%, 0.8 or 4/5)") from None
    else:
        raise TypeError(f"not a share: {value!r}")
    if not 0 <= share <= 1:
        raise ValueError(f"a share must lie between 0 and 100%: {value!r}")
    return share


def format_share(share: Fraction) -> str:
    """ "80%" when the share is a whole or two-decimal percentage, otherwise "5/9"."""
    percent = share * 100
    if (percent * 100).denominator == 1:
        text = f"{Decimal(percent.numerator) / Decimal(percent.denominator):f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return f"{text}%"
    return f"{share.numerator}/{share.denominator}"


def yuan(value: Decimal) -> str:
    """ "1,234.50" — how an amount is written in texts."""
    return f"{to_fen(value):,.2f}"

"""Money and shares: exact amounts, half-up to the fen, shares written the way ops write them."""

from decimal import Decimal
from fractions import Fraction

import pytest

from core.money import format_share, is_fen_exact, parse_share, to_decimal, to_fen, yuan

# --- to_decimal -------------------------------------------------------------------------------


def test_an_amount_written_as_a_decimal_an_int_or_a_string_becomes_the_same_decimal():
    assert to_decimal(Decimal("12.30")) == Decimal("12.30")
    assert to_decimal(12) == Decimal("12")
    assert to_decimal(" 12.30 ") == Decimal("12.30")


def test_a_float_amount_is_refused_because_no_float_may_touch_money():
    with pytest.raises(TypeError, match="float"):
        to_decimal(0.1)


def test_a_bool_amount_is_refused_even_though_python_counts_it_as_an_int():
    with pytest.raises(TypeError, match="bool"):
        to_decimal(True)


@pytest.mark.parametrize("text", ["twelve", "", "1,000"])
def test_a_string_that_is_not_a_number_is_refused_as_not_an_amount(text):
    with pytest.raises(ValueError, match="not an amount"):
        to_decimal(text)


@pytest.mark.parametrize("text", ["３９９", "1_000", "٣٩٩", "1e400000", "0x10"])
def test_an_amount_in_full_width_or_other_digits_with_underscores_or_a_huge_exponent_is_refused(text):
    with pytest.raises(ValueError, match="not an amount"):
        to_decimal(text)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-inf"])
def test_an_infinite_or_nan_amount_is_refused(text):
    with pytest.raises(ValueError, match="not a finite amount"):
        to_decimal(text)


# --- to_fen -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exact", "fen"),
    [
        (Decimal("0.025"), Decimal("0.03")),
        (Decimal("-0.025"), Decimal("-0.03")),
        (Decimal("0.0249"), Decimal("0.02")),
        (Decimal("-0.0249"), Decimal("-0.02")),
        (Decimal("0.015"), Decimal("0.02")),
        (Decimal("2.675"), Decimal("2.68")),
        (Decimal("100"), Decimal("100.00")),
    ],
)
def test_a_decimal_is_rounded_half_up_away_from_zero_to_the_fen(exact, fen):
    assert to_fen(exact) == fen
    assert str(to_fen(exact)) == str(fen)


@pytest.mark.parametrize(
    ("exact", "fen"),
    [
        (Fraction(1, 40), Decimal("0.03")),  # 0.025
        (Fraction(-1, 40), Decimal("-0.03")),  # -0.025
        (Fraction(249, 10000), Decimal("0.02")),  # 0.0249
        (Fraction(180) * Fraction(5, 9), Decimal("100.00")),
        (Fraction(100, 3), Decimal("33.33")),
        (Fraction(200, 3), Decimal("66.67")),
    ],
)
def test_a_fraction_is_rounded_half_up_to_the_fen_without_passing_through_a_float(exact, fen):
    assert to_fen(exact) == fen


def test_an_int_amount_comes_back_with_two_decimal_places():
    assert str(to_fen(7)) == "7.00"


def test_rounding_a_float_is_refused():
    with pytest.raises(TypeError, match="float"):
        to_fen(0.025)


def test_whole_fen_amounts_are_told_apart_from_amounts_with_a_part_of_a_fen():
    assert is_fen_exact(Decimal("12.30"))
    assert is_fen_exact(Decimal("12"))
    assert not is_fen_exact(Decimal("12.305"))


def test_yuan_writes_an_amount_with_thousands_separators_and_two_decimals():
    assert yuan(Decimal("1234.5")) == "1,234.50"
    assert yuan(Decimal("0.025")) == "0.03"


# --- parse_share ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "share"),
    [
        ("80%", Fraction(4, 5)),
        (" 80 % ", Fraction(4, 5)),
        ("12.5%", Fraction(1, 8)),
        ("0.8", Fraction(4, 5)),
        (Decimal("0.8"), Fraction(4, 5)),
        ("5/9", Fraction(5, 9)),
        (" 5 / 9 ", Fraction(5, 9)),
        (Fraction(5, 9), Fraction(5, 9)),
        (0, Fraction(0)),
        (1, Fraction(1)),
        ("100%", Fraction(1)),
        ("0%", Fraction(0)),
    ],
)
def test_a_share_reads_the_same_whether_written_as_percent_decimal_or_fraction(written, share):
    assert parse_share(written) == share


def test_a_share_written_as_a_fraction_stays_exact_and_is_not_rounded():
    assert parse_share("5/9") * 180 == 100


def test_a_float_share_is_refused():
    with pytest.raises(TypeError, match="float"):
        parse_share(0.8)


def test_a_bool_share_is_refused():
    with pytest.raises(TypeError):
        parse_share(True)


@pytest.mark.parametrize("written", ["150%", "100.01%", "1.5", "10/9", 2])
def test_a_share_over_the_whole_pool_is_refused_saying_it_must_lie_within_100_percent(written):
    with pytest.raises(ValueError, match="between 0 and 100%"):
        parse_share(written)


@pytest.mark.parametrize("written", [-1, Decimal("-0.1"), "-0.5"])
def test_a_negative_share_is_refused_saying_it_must_lie_within_100_percent(written):
    with pytest.raises(ValueError, match="between 0 and 100%"):
        parse_share(written)


@pytest.mark.parametrize("written", ["-10%", "-5/9"])
def test_a_negative_percent_or_fraction_is_refused_naming_what_was_written(written):
    with pytest.raises(ValueError, match=written):
        parse_share(written)


def test_a_share_dividing_by_zero_is_refused_saying_so():
    with pytest.raises(ValueError, match="divide by zero"):
        parse_share("5/0")


@pytest.mark.parametrize("written", ["lots", "", "80 percent", "nan", "inf", "Infinity"])
def test_a_nonsense_share_is_refused_showing_how_to_write_one(written):
    with pytest.raises(ValueError, match=r"not a share.*write 80%, 0\.8 or 4/5"):
        parse_share(written)


@pytest.mark.parametrize("written", [Decimal("Infinity"), Decimal("NaN")])
def test_an_infinite_or_nan_decimal_share_is_refused_as_not_a_share(written):
    with pytest.raises(ValueError, match="not a share"):
        parse_share(written)


def test_a_share_of_an_unexpected_type_is_refused():
    with pytest.raises(TypeError, match="not a share"):
        parse_share(["80%"])


# --- format_share -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("share", "written"),
    [
        (Fraction(4, 5), "80%"),
        (Fraction(1, 8), "12.5%"),
        (Fraction(1, 25), "4%"),
        (Fraction(1, 10000), "0.01%"),
        (Fraction(1234, 10000), "12.34%"),
        (Fraction(0), "0%"),
        (Fraction(1), "100%"),
        (Fraction(11, 10), "110%"),
        (Fraction(5, 9), "5/9"),
        (Fraction(1, 3), "1/3"),
        (Fraction(1, 100000), "1/100000"),
    ],
)
def test_a_share_is_written_as_a_percentage_when_it_has_at_most_two_decimals_otherwise_as_a_fraction(share, written):
    assert format_share(share) == written


@pytest.mark.parametrize("share", [Fraction(4, 5), Fraction(1, 8), Fraction(5, 9), Fraction(37, 91), Fraction(1)])
def test_a_written_share_reads_back_as_the_same_share(share):
    assert parse_share(format_share(share)) == share

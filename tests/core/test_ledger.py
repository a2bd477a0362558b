"""Rule 6 of the ledger: pending until the refund window passes, then settled; refunds claw back
pro rata and cumulatively; a late refund stays on the balance; totals a distributor sees."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.commission import Kind
from core.ledger import (
    DEFAULT_REFUND_WINDOW_DAYS,
    Commission,
    Earnings,
    Entry,
    LedgerLine,
    PayoutRefused,
    Reason,
    claw_back,
    payout_line,
    settle_due,
    summarize,
)
from core.money import ZERO, to_fen

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2024, 3, 1, 10, 0, tzinfo=SH)


def commission(amount: str = "144.00", *, cid: object = 1, kind: Kind = Kind.SELLER, at: datetime = T0) -> Commission:
    return Commission(id=cid, payee="li", kind=kind, amount=Decimal(amount), earned_at=at)


def earned(c: Commission) -> LedgerLine:
    return LedgerLine(c.id, c.payee, c.kind, Entry.EARNED, c.amount, Reason.SALE, c.earned_at)


def apply(c: Commission, lines: list[LedgerLine]) -> Commission:
    """The commission as the shell would reload it after appending ``lines``."""
    for line in lines:
        if line.entry is Entry.SETTLED:
            c = replace(c, settled_at=line.at)
        elif line.entry in (Entry.CANCELLED, Entry.ADJUSTED):
            c = replace(c, clawed_back=c.clawed_back - line.amount)
    return c


def refund(c: Commission, before: str, now_amount: str, at: datetime, paid: str = "399.00") -> list[LedgerLine]:
    return claw_back([c], paid=Decimal(paid), refunded_before=Decimal(before), refunded_now=Decimal(now_amount), now=at)


# --- settlement -------------------------------------------------------------------------------


def test_the_refund_window_is_seven_days_by_default():
    assert DEFAULT_REFUND_WINDOW_DAYS == 7


def test_a_commission_stays_pending_one_second_before_the_refund_window_ends():
    c = commission()
    assert settle_due([c], T0 + timedelta(days=7) - timedelta(seconds=1)) == []


def test_a_commission_settles_exactly_when_the_refund_window_ends():
    c = commission()
    lines = settle_due([c], T0 + timedelta(days=7))
    assert [(line.entry, line.amount, line.reason) for line in lines] == [
        (Entry.SETTLED, Decimal("144.00"), Reason.WINDOW_PASSED)
    ]
    assert lines[0].at == T0 + timedelta(days=7)


def test_a_configured_refund_window_moves_the_settlement_day():
    c = commission()
    assert settle_due([c], T0 + timedelta(days=7), window_days=14) == []
    assert len(settle_due([c], T0 + timedelta(days=14), window_days=14)) == 1


def test_a_commission_already_settled_is_not_settled_twice():
    c = replace(commission(), settled_at=T0 + timedelta(days=7))
    assert settle_due([c], T0 + timedelta(days=30)) == []


def test_settlement_pays_what_is_left_after_a_partial_refund_in_the_window():
    c = commission()
    c = apply(c, refund(c, "0.00", "133.00", T0 + timedelta(days=3)))
    [line] = settle_due([c], T0 + timedelta(days=8))
    assert line.amount == Decimal("96.00")


def test_a_commission_cancelled_in_full_is_never_settled():
    c = commission()
    c = apply(c, refund(c, "0.00", "399.00", T0 + timedelta(days=1)))
    assert settle_due([c], T0 + timedelta(days=30)) == []


def test_a_summary_shows_money_as_pending_before_settlement_and_settled_after():
    c = commission()
    before = summarize([earned(c)], T0 + timedelta(days=1))
    assert (before.pending, before.settled) == (Decimal("144.00"), ZERO)
    after = summarize([earned(c), *settle_due([c], T0 + timedelta(days=7))], T0 + timedelta(days=7))
    assert (after.pending, after.settled, after.total) == (ZERO, Decimal("144.00"), Decimal("144.00"))


# --- refunds inside the window ----------------------------------------------------------------


def test_a_full_refund_inside_the_window_cancels_the_whole_commission():
    c = commission()
    lines = refund(c, "0.00", "399.00", T0 + timedelta(days=2))
    assert [(line.entry, line.amount, line.reason) for line in lines] == [
        (Entry.CANCELLED, Decimal("-144.00"), Reason.REFUND_IN_WINDOW)
    ]
    summary = summarize([earned(c), *lines], T0 + timedelta(days=2))
    assert (summary.pending, summary.settled, summary.cancelled) == (ZERO, ZERO, Decimal("144.00"))


def test_a_partial_refund_claws_back_the_commission_pro_rata():
    lines = refund(commission(), "0.00", "133.00", T0 + timedelta(days=3))
    assert [(line.entry, line.amount) for line in lines] == [(Entry.CANCELLED, Decimal("-48.00"))]


def test_two_partial_refunds_adding_up_to_the_whole_claw_back_exactly_the_commission():
    c = commission()
    first = refund(c, "0.00", "133.00", T0 + timedelta(days=1))
    c = apply(c, first)
    second = refund(c, "133.00", "266.00", T0 + timedelta(days=2))
    assert [line.amount for line in first + second] == [Decimal("-48.00"), Decimal("-96.00")]
    assert apply(c, second).net == ZERO


def test_three_awkward_refunds_of_a_tiny_commission_round_cumulatively_to_exactly_the_commission():
    c = commission("0.07")
    clawed: list[Decimal] = []
    before = Decimal("0.00")
    for part in ("33.33", "33.33", "33.34"):
        lines = refund(c, str(before), part, T0 + timedelta(days=1), paid="100.00")
        clawed += [-line.amount for line in lines]
        c = apply(c, lines)
        before += Decimal(part)
    assert clawed == [Decimal("0.02"), Decimal("0.03"), Decimal("0.02")]
    assert sum(clawed) == Decimal("0.07")
    assert c.net == ZERO


def test_a_refund_larger_than_what_was_paid_is_refused():
    with pytest.raises(ValueError, match="exceed what was paid"):
        refund(commission(), "0.00", "399.01", T0 + timedelta(days=1))


def test_refunds_adding_up_to_more_than_was_paid_are_refused():
    with pytest.raises(ValueError, match="exceed what was paid"):
        refund(commission(), "300.00", "100.00", T0 + timedelta(days=1))


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_a_refund_of_nothing_or_a_negative_amount_is_refused(amount):
    with pytest.raises(ValueError, match="positive"):
        refund(commission(), "0.00", amount, T0 + timedelta(days=1))


# --- refunds after the window -----------------------------------------------------------------


def test_a_refund_after_settlement_books_a_negative_adjustment_that_stays_on_the_balance():
    c = commission()
    c = apply(c, refund(c, "0.00", "133.00", T0 + timedelta(days=3)))
    settled = settle_due([c], T0 + timedelta(days=7))
    c = apply(c, settled)
    late = refund(c, "133.00", "266.00", T0 + timedelta(days=10))
    assert [(line.entry, line.amount, line.reason) for line in late] == [
        (Entry.ADJUSTED, Decimal("-96.00"), Reason.REFUND_AFTER_SETTLEMENT)
    ]
    cancelled = refund(commission(), "0.00", "133.00", T0 + timedelta(days=3))
    summary = summarize([earned(c), *cancelled, *settled, *late], T0 + timedelta(days=10))
    assert (summary.pending, summary.settled, summary.cancelled) == (ZERO, ZERO, Decimal("48.00"))


def test_a_refund_after_the_window_but_before_the_settlement_pass_settles_then_adjusts():
    c = commission()
    at = T0 + timedelta(days=9)
    lines = refund(c, "0.00", "133.00", at)
    assert [(line.entry, line.amount) for line in lines] == [
        (Entry.SETTLED, Decimal("144.00")),
        (Entry.ADJUSTED, Decimal("-48.00")),
    ]
    summary = summarize([earned(c), *lines], at)
    assert (summary.pending, summary.settled, summary.cancelled) == (ZERO, Decimal("96.00"), ZERO)


def test_a_refund_exactly_at_the_window_boundary_is_a_late_refund():
    lines = refund(commission(), "0.00", "399.00", T0 + timedelta(days=7))
    assert [line.entry for line in lines] == [Entry.SETTLED, Entry.ADJUSTED]


def test_a_late_refund_of_last_months_commission_makes_this_month_negative_and_is_not_forgiven():
    c = commission(at=datetime(2024, 2, 10, 12, 0, tzinfo=SH))
    settled = settle_due([c], datetime(2024, 2, 17, 12, 0, tzinfo=SH))
    c = apply(c, settled)
    now = datetime(2024, 3, 3, 9, 0, tzinfo=SH)
    late = refund(c, "0.00", "399.00", now)
    summary = summarize([earned(c), *settled, *late], now)
    assert summary.this_month == Decimal("-144.00")
    assert summary.settled == ZERO
    assert summary.by_kind == {Kind.SELLER: ZERO}


def test_a_settled_balance_below_zero_is_shown_negative_not_floored_at_zero():
    # Hand-made: the payee's ledger carries an adjustment bigger than what is settled.
    c = commission("50.00")
    lines = [
        earned(c),
        LedgerLine(1, "li", Kind.SELLER, Entry.SETTLED, Decimal("50.00"), Reason.WINDOW_PASSED, T0 + timedelta(days=7)),
        LedgerLine(1, "li", Kind.SELLER, Entry.ADJUSTED, Decimal("-80.00"), Reason.REFUND_AFTER_SETTLEMENT, T0),
    ]
    summary = summarize(lines, T0 + timedelta(days=8))
    assert summary.settled == Decimal("-30.00")
    assert summary.total == Decimal("-30.00")


# --- summarize --------------------------------------------------------------------------------


def test_a_summary_of_a_small_ledger_splits_pending_settled_cancelled_by_kind_and_this_month():
    feb = datetime(2024, 2, 20, 10, 0, tzinfo=SH)
    c1 = commission("144.00", cid="c1", at=feb)  # settled in February
    c2 = commission("7.20", cid="c2", kind=Kind.MANAGEMENT, at=datetime(2024, 3, 5, 10, 0, tzinfo=SH))  # pending
    c3 = commission("100.00", cid="c3", at=datetime(2024, 3, 2, 10, 0, tzinfo=SH))  # cancelled in March
    c4 = commission("1.80", cid="c4", kind=Kind.INVITE, at=datetime(2024, 2, 10, 10, 0, tzinfo=SH))
    march_4 = datetime(2024, 3, 4, 10, 0, tzinfo=SH)
    c4_settled = settle_due([c4], datetime(2024, 2, 17, 10, 0, tzinfo=SH))
    lines = [
        earned(c4),
        *c4_settled,
        earned(c1),
        *settle_due([c1], datetime(2024, 2, 27, 10, 0, tzinfo=SH)),
        earned(c3),
        *claw_back([c3], paid=Decimal("250.00"), refunded_before=ZERO, refunded_now=Decimal("250.00"), now=march_4),
        *claw_back(
            [apply(c4, c4_settled)],
            paid=Decimal("9.90"),
            refunded_before=ZERO,
            refunded_now=Decimal("9.90"),
            now=datetime(2024, 3, 3, 10, 0, tzinfo=SH),
        ),
        earned(c2),
    ]
    summary = summarize(lines, datetime(2024, 3, 10, 12, 0, tzinfo=SH))
    assert summary.pending == Decimal("7.20")
    assert summary.settled == Decimal("144.00")
    assert summary.cancelled == Decimal("100.00")
    assert summary.total == Decimal("151.20")
    assert summary.by_kind == {Kind.SELLER: Decimal("144.00"), Kind.MANAGEMENT: Decimal("7.20"), Kind.INVITE: ZERO}
    # March: c3 earned and cancelled (+100.00 −100.00), c4's late refund (−1.80), c2 earned (+7.20).
    assert summary.this_month == Decimal("5.40")


def test_this_month_is_counted_in_the_platform_timezone_not_in_utc():
    # 29 Feb 17:00 UTC is 1 March 01:00 in Shanghai; 29 Feb 15:30 UTC is still February there.
    in_march = commission("10.00", cid="a", at=datetime(2024, 2, 29, 17, 0, tzinfo=UTC))
    in_february = commission("20.00", cid="b", at=datetime(2024, 2, 29, 15, 30, tzinfo=UTC))
    summary = summarize([earned(in_march), earned(in_february)], datetime(2024, 3, 1, 8, 0, tzinfo=SH))
    assert summary.this_month == Decimal("10.00")
    assert summary.pending == Decimal("30.00")


def test_an_empty_ledger_shows_zero_everywhere():
    summary = summarize([], T0)
    assert (summary.pending, summary.settled, summary.cancelled, summary.this_month) == (ZERO, ZERO, ZERO, ZERO)
    assert summary.by_kind == {}


# --- property: cumulative claw-back is exact --------------------------------------------------


@st.composite
def refund_plans(draw):
    paid_fen = draw(st.integers(min_value=1, max_value=10_000_000))
    amount_fen = draw(st.integers(min_value=1, max_value=5_000_000))
    refunds: list[tuple[int, int]] = []  # (fen, day)
    left, day = paid_fen, 0
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        if left == 0:
            break
        part = draw(st.integers(min_value=1, max_value=left))
        day += draw(st.integers(min_value=0, max_value=4))
        refunds.append((part, day))
        left -= part
    settle_pass = draw(st.booleans())
    return paid_fen, amount_fen, refunds, settle_pass


def fen(n: int) -> Decimal:
    return Decimal(n) / 100


@settings(max_examples=200, deadline=None)
@given(refund_plans())
def test_any_sequence_of_partial_refunds_claws_back_exactly_the_pro_rata_share_and_never_more(plan):
    paid_fen, amount_fen, refunds, settle_pass = plan
    c = commission(str(fen(amount_fen)))
    lines = [earned(c)]
    before = 0
    for part, day in refunds:
        at = T0 + timedelta(days=day)
        if settle_pass:
            due = settle_due([c], at)
            c, lines = apply(c, due), lines + due
        new = claw_back([c], paid=fen(paid_fen), refunded_before=fen(before), refunded_now=fen(part), now=at)
        c, lines = apply(c, new), lines + new
        before += part
    clawed = -sum((line.amount for line in lines if line.entry in (Entry.CANCELLED, Entry.ADJUSTED)), ZERO)
    assert clawed == to_fen(Fraction(amount_fen, 100) * Fraction(before, paid_fen))
    assert ZERO <= clawed <= c.amount
    assert all(line.amount < 0 for line in lines if line.entry in (Entry.CANCELLED, Entry.ADJUSTED))
    summary = summarize(lines, T0 + timedelta(days=40))
    assert summary.total == c.amount - clawed


def test_money_paid_out_then_refunded_leaves_a_negative_balance_that_is_never_forgiven():
    earned_at = datetime(2026, 11, 1, 10, tzinfo=SH)
    commission = Commission(1, "li", Kind.SELLER, Decimal("144.00"), earned_at)
    settled = settle_due([commission], earned_at + timedelta(days=8))
    lines = [LedgerLine(1, "li", Kind.SELLER, Entry.EARNED, Decimal("144.00"), Reason.SALE, earned_at), *settled]
    paid = payout_line("li", Decimal("144.00"), summarize(lines, earned_at + timedelta(days=9)), earned_at)
    lines.append(paid)
    settled_commission = Commission(1, "li", Kind.SELLER, Decimal("144.00"), earned_at, settled_at=earned_at)
    lines += claw_back(
        [settled_commission],
        paid=Decimal("399.00"),
        refunded_before=Decimal("0"),
        refunded_now=Decimal("399.00"),
        now=earned_at + timedelta(days=10),
    )

    earnings = summarize(lines, earned_at + timedelta(days=10))

    assert (earnings.settled, earnings.paid_out, earnings.balance) == (
        Decimal("0.00"),
        Decimal("144.00"),
        Decimal("-144.00"),
    )
    with pytest.raises(PayoutRefused, match="more than the balance"):
        payout_line("li", Decimal("0.01"), earnings, earned_at)


def test_a_payout_must_be_a_positive_whole_fen_amount():
    rich = Earnings(settled=Decimal("500.00"))
    for amount in (Decimal("0"), Decimal("-1.00"), Decimal("1.005")):
        with pytest.raises(PayoutRefused):
            payout_line("li", amount, rich, datetime(2026, 11, 1, tzinfo=SH))

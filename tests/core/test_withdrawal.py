"""Withdrawal rules (core.withdrawal): only settled money, above the minimum, one open request,
a negative balance blocks; and, over any sequence of sales, refunds, settlements, requests,
approvals and rejections, nothing is paid out beyond the settled balance at that moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from core.commission import Kind
from core.ledger import Commission, Entry, LedgerLine, Reason, claw_back, payout_line, settle_due, summarize
from core.money import to_fen
from core.withdrawal import Refusal, Standing, check_approval, check_request

D = Decimal
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def standing(balance: str, pending: str = "0", open_request: str | None = None) -> Standing:
    return Standing(D(balance), D(pending), D(open_request) if open_request else None, D("50.00"))


def test_the_worked_example_of_the_docstring():
    s = standing("180.00", "96.00")
    assert s.available == D("180.00") and s.blocked is None
    assert check_request(s, D("200")) is Refusal.ABOVE_BALANCE  # pending money is not withdrawable
    assert check_request(s, D("30")) is Refusal.BELOW_MINIMUM
    assert check_request(s, D("150")) is None
    opened = standing("180.00", "96.00", "150.00")
    assert check_request(opened, D("20")) is Refusal.OPEN_REQUEST
    assert opened.available == 0 and opened.blocked is Refusal.OPEN_REQUEST
    assert check_approval(D("132.00"), D("150.00")) is Refusal.ABOVE_BALANCE  # a claw-back since
    negative = standing("-18.00")
    assert negative.blocked is Refusal.NEGATIVE_BALANCE and negative.available == 0
    assert check_request(negative, D("50")) is Refusal.NEGATIVE_BALANCE


def test_amounts_must_be_whole_fen_and_positive():
    s = standing("500.00")
    assert check_request(s, D("100.001")) is Refusal.NOT_AN_AMOUNT
    assert check_request(s, D("0")) is Refusal.NOT_AN_AMOUNT
    assert check_request(s, D("-60")) is Refusal.NOT_AN_AMOUNT
    assert check_request(s, D("500.00")) is None  # the whole balance, exactly


def test_a_balance_below_the_minimum_says_so_and_zero_says_nothing_to_withdraw():
    assert standing("49.99").blocked is Refusal.BELOW_MINIMUM
    assert standing("0.00").blocked is Refusal.NOTHING


amounts = st.integers(min_value=1, max_value=50_000).map(lambda fen: D(fen) / 100)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("sale"), amounts),
        st.tuples(st.just("days"), st.integers(min_value=1, max_value=10)),
        st.tuples(st.just("refund"), st.integers(min_value=0, max_value=20), st.fractions(Fraction(1, 10), 1)),
        st.tuples(st.just("request"), amounts),
        st.tuples(st.just("approve")),
        st.tuples(st.just("reject")),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_no_sequence_of_withdrawals_refunds_and_approvals_pays_out_more_than_the_settled_balance(sequence):
    now = T0
    lines: list[LedgerLine] = []
    commissions: dict[int, tuple[Decimal, datetime, Decimal]] = {}  # id → (amount, earned at, order paid)
    refunded: dict[int, Decimal] = {}
    open_request: Decimal | None = None
    paid_out = D(0)

    def current() -> list[Commission]:
        out = []
        for cid, (amount, at, _paid) in commissions.items():
            mine = [line for line in lines if line.commission_id == cid]
            settled = next((line.at for line in mine if line.entry == Entry.SETTLED), None)
            clawed = -sum((line.amount for line in mine if line.entry in (Entry.CANCELLED, Entry.ADJUSTED)), D(0))
            out.append(Commission(cid, "p", Kind.SELLER, amount, at, settled, clawed))
        return out

    def oracle_balance() -> Decimal:
        """Settled money, computed here from the lines: net of every settled commission, less payouts."""
        settled_ids = {line.commission_id for line in lines if line.entry == Entry.SETTLED}
        net = sum(
            (
                line.amount
                for line in lines
                if line.commission_id in settled_ids and line.entry in (Entry.EARNED, Entry.CANCELLED, Entry.ADJUSTED)
            ),
            D(0),
        )
        return net - paid_out

    for step in sequence:
        if step[0] == "sale":
            cid = len(commissions)
            commissions[cid] = (step[1], now, step[1] * 3)
            lines.append(LedgerLine(cid, "p", Kind.SELLER, Entry.EARNED, step[1], Reason.SALE, now))
        elif step[0] == "days":
            now += timedelta(days=step[1])
            lines.extend(settle_due(current(), now, 7))
        elif step[0] == "refund" and commissions:
            cid = step[1] % len(commissions)
            paid = commissions[cid][2]
            already = refunded.get(cid, D(0))
            more = to_fen(Fraction(paid - already) * step[2])
            if more <= 0:
                continue
            lines.extend(
                claw_back(
                    [c for c in current() if c.id == cid],
                    paid=paid,
                    refunded_before=already,
                    refunded_now=more,
                    now=now,
                    window_days=7,
                )
            )
            refunded[cid] = already + more
        elif step[0] == "request":
            earnings = summarize(lines, now)
            s = Standing(earnings.balance, earnings.pending, open_request, D("50.00"))
            if check_request(s, step[1]) is None:
                assert open_request is None and step[1] <= oracle_balance()
                open_request = step[1]
        elif step[0] == "approve" and open_request is not None:
            earnings = summarize(lines, now)
            assert earnings.balance == oracle_balance()
            if check_approval(earnings.balance, open_request) is None:
                before = oracle_balance()
                lines.append(payout_line("p", open_request, earnings, now))
                paid_out += open_request
                assert open_request <= before
                assert oracle_balance() >= 0
                open_request = None
        elif step[0] == "reject":
            open_request = None
        # Whatever happened, the money paid never exceeds what has been settled net of claw-backs
        # at the time of each payout: the balance only goes below zero through a later refund.
        assert summarize(lines, now).balance == oracle_balance()

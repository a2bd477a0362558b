"""Withdrawals (提现): what a distributor may take out of their settled balance, and when.

Rules, in the order they are checked:

1. Only settled money can be withdrawn: the *balance* is settled commissions less what was
   paid out (``core.ledger.Earnings.balance``); pending commissions (still refundable) never
   count. A negative balance — a refund after settlement clawed back money already paid —
   blocks every withdrawal until later commissions cover it, and says so.
2. At most one open request per person: a second is refused while the first waits for ops.
3. The amount is a positive number of whole fen, at least the configured minimum
   (``withdrawals.minimum``, 50.00 by default) and at most the balance.
4. Approval checks the balance again, *now*: a refund between the request and the approval
   may have lowered it, and nothing is paid beyond it (``core.ledger.payout_line`` refuses).

Worked example (minimum 50.00): settled 180.00, pending 96.00, nothing paid out → balance
180.00, so “提现” shows 180.00 available. “提现 200” is refused (more than 180.00: the 96.00
pending is not withdrawable yet); “提现 30” is refused (below 50.00); “提现 150” opens a request;
a second “提现 20” is refused (one is open). A refund then claws back 48.00 after settlement:
balance 132.00, so ops cannot approve the 150.00 (they reject it with a reason; the person can
ask for 132.00). Had 150.00 been approved first, the claw-back leaves the balance at −18.00,
and “提现” says withdrawals wait until new commissions bring it above zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from core.money import ZERO, to_decimal, to_fen

DEFAULT_MINIMUM = Decimal("50.00")


class Refusal(StrEnum):
    NEGATIVE_BALANCE = "negative_balance"  # clawed back after payout: nothing can be withdrawn
    NOTHING = "nothing"  # balance zero
    OPEN_REQUEST = "open_request"  # one request is waiting already
    NOT_AN_AMOUNT = "not_an_amount"  # zero, negative, or finer than the fen
    BELOW_MINIMUM = "below_minimum"
    ABOVE_BALANCE = "above_balance"


@dataclass(frozen=True)
class Standing:
    """Where a person stands: their balance (settled, not paid out), what is pending, the
    amount of their open request (None: none), and the minimum."""

    balance: Decimal
    pending: Decimal
    open_request: Decimal | None
    minimum: Decimal = DEFAULT_MINIMUM

    @property
    def available(self) -> Decimal:
        """What a new request may ask for now (zero while one is open or the balance is below 0)."""
        if self.open_request is not None or self.balance <= 0:
            return ZERO
        return self.balance

    @property
    def blocked(self) -> Refusal | None:
        """Why no request can be made at all, if so."""
        if self.balance < 0:
            return Refusal.NEGATIVE_BALANCE
        if self.open_request is not None:
            return Refusal.OPEN_REQUEST
        if self.balance < self.minimum:
            return Refusal.NOTHING if self.balance == 0 else Refusal.BELOW_MINIMUM
        return None


def check_request(standing: Standing, amount: Decimal) -> Refusal | None:
    """None when ``amount`` may be requested now; otherwise the first rule it breaks."""
    amount = to_decimal(amount)
    if standing.balance < 0:
        return Refusal.NEGATIVE_BALANCE
    if standing.open_request is not None:
        return Refusal.OPEN_REQUEST
    if amount <= 0 or amount != to_fen(amount):
        return Refusal.NOT_AN_AMOUNT
    if amount < standing.minimum:
        return Refusal.BELOW_MINIMUM
    if amount > standing.balance:
        return Refusal.ABOVE_BALANCE
    return None


def check_approval(balance: Decimal, amount: Decimal) -> Refusal | None:
    """None when a requested ``amount`` can be paid out of ``balance`` as it stands now."""
    if balance < 0:
        return Refusal.NEGATIVE_BALANCE
    if amount > balance:
        return Refusal.ABOVE_BALANCE
    return None

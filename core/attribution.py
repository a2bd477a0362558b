"""Which distributor a sale belongs to (锁粉 fan lock).

Attribution is computed from the buyer's lock history and the order's ref code — never taken
from the shop. In order:

1. A buyer who is a distributor is the seller of their own purchase (自购省钱); no lock is
   made (a distributor is never locked to anyone, themself included).
2. A full-price course bound to a trial the buyer took: the trial's seller sells it, ref or not.
3. Otherwise the lock decides, by mode:
   - lifetime (终身): the first distributor the buyer came through keeps them forever;
   - semi-lifetime (半终身): a buyer arriving through another distributor's code moves to that
     distributor, unless the lock is younger than ``protection_days``;
   - period: the lock lapses ``period_days`` (default 30) after it was made; after that the
     next ref locks anew.
   With no lock and a ref, the buyer is locked to the ref's distributor. With neither, no
   distributor sold it and the platform keeps the pool.

Example (semi-lifetime, protection 7 days): locked to Li on 1 March; on 5 March an order with
Wang's code still pays Li; on 10 March it pays Wang and the buyer is now Wang's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum


class LockMode(StrEnum):
    LIFETIME = "lifetime"
    SEMI_LIFETIME = "semi_lifetime"
    PERIOD = "period"


class Why(StrEnum):
    SELF_PURCHASE = "self_purchase"
    BOUND_TRIAL = "bound_trial"
    NEW_LOCK = "new_lock"
    LOCKED = "locked"
    MOVED = "moved"
    NONE = "none"


@dataclass(frozen=True)
class FanLockRule:
    mode: LockMode = LockMode.SEMI_LIFETIME
    period_days: int = 30
    protection_days: int = 0

    def __post_init__(self) -> None:
        if self.period_days < 1 or self.protection_days < 0:
            raise ValueError("period_days must be ≥ 1 and protection_days ≥ 0")


@dataclass(frozen=True, slots=True)
class Lock:
    """The buyer was locked to ``distributor`` at ``since``."""

    distributor: str
    since: datetime


@dataclass(frozen=True, slots=True)
class Attribution:
    seller: str | None
    why: Why
    new_lock: Lock | None = None  # to append to the buyer's lock history


def current_lock(history: Sequence[Lock], rule: FanLockRule, now: datetime) -> Lock | None:
    """The lock in force at ``now``: the latest one, unless a period lock has lapsed."""
    if not history:
        return None
    latest = max(history, key=lambda lock: lock.since)
    if rule.mode is LockMode.PERIOD and now >= latest.since + timedelta(days=rule.period_days):
        return None
    return latest


def attribute(
    *,
    rule: FanLockRule,
    now: datetime,
    history: Sequence[Lock] = (),
    ref_distributor: str | None = None,
    buyer_distributor: str | None = None,
    bound_distributor: str | None = None,
) -> Attribution:
    """Decide the seller of one order. ``ref_distributor`` is the owner of the order's ref
    code (resolved by the caller; None when absent or unknown); ``buyer_distributor`` is the
    buyer's own distributor id when the buyer is one; ``bound_distributor`` the seller of the
    trial this full-price course is bound to, when the buyer took it."""
    if buyer_distributor is not None:
        return Attribution(buyer_distributor, Why.SELF_PURCHASE)
    if bound_distributor is not None:
        return Attribution(bound_distributor, Why.BOUND_TRIAL)

    lock = current_lock(history, rule, now)
    if lock is None:
        if ref_distributor is None:
            return Attribution(None, Why.NONE)
        return Attribution(ref_distributor, Why.NEW_LOCK, Lock(ref_distributor, now))
    if ref_distributor is None or ref_distributor == lock.distributor:
        return Attribution(lock.distributor, Why.LOCKED)
    if rule.mode is LockMode.SEMI_LIFETIME and now >= lock.since + timedelta(days=rule.protection_days):
        return Attribution(ref_distributor, Why.MOVED, Lock(ref_distributor, now))
    return Attribution(lock.distributor, Why.LOCKED)


@dataclass(frozen=True, slots=True)
class TrialTaken:
    """A trial the buyer bought that is bound to the full-price course they are now buying."""

    seller: str | None
    paid_at: datetime
    amount: Decimal
    refunded: Decimal = Decimal(0)


def bound_seller(trials: Iterable[TrialTaken]) -> str | None:
    """Who a bound full-price course goes to (``bound_distributor`` of :func:`attribute`): the
    seller of the buyer's earliest bound trial that had a seller and still stands — less was
    refunded than was paid (so a trial refunded in full, or a free one, binds nobody).

    Example: a 9.90 trial sold by Li on 1 March and refunded, another sold by Wang on 3 March
    → Wang; with the first not refunded → Li; with no seller on either → None."""
    standing = [t for t in trials if t.seller is not None and t.refunded < t.amount]
    if not standing:
        return None
    return min(standing, key=lambda t: t.paid_at).seller

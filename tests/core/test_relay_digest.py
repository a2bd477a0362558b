"""The relay digest rule: a trickle of orders stays as lines, a burst becomes one digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.relay_digest import Digest, PendingLine, digest_of

T = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def lines(*sellers: str, every: float = 1.0) -> list[PendingLine]:
    return [PendingLine(seller, 1, T + timedelta(seconds=i * every)) for i, seller in enumerate(sellers)]


def test_a_trickle_that_fits_one_message_stays_as_lines():
    assert digest_of(lines(*["李娜"] * 30), 30, T + timedelta(minutes=5)) is None


def test_a_burst_beyond_one_message_becomes_a_digest_counting_every_order():
    burst = lines(*(["李娜"] * 120 + ["张伟"] * 80 + ["王芳"] * 60 + ["赵敏"] * 52), every=58 / 312)

    digest = digest_of(burst, 30, T + timedelta(seconds=58))

    assert digest == Digest(orders=312, units=312, minutes=1, top=(("李娜", 120), ("张伟", 80), ("王芳", 60)))


def test_the_digest_counts_the_minutes_since_the_oldest_waiting_line_rounded_up():
    digest = digest_of(lines(*["李娜"] * 31), 30, T + timedelta(seconds=121))

    assert digest is not None and digest.minutes == 3


def test_sellers_tied_on_orders_rank_by_who_sold_first():
    digest = digest_of(lines(*(["张伟", "李娜"] * 20)), 30, T)

    assert digest is not None and [seller for seller, _ in digest.top] == ["张伟", "李娜"]


def test_units_add_up_the_quantities_and_lines_without_a_seller_still_count():
    burst = [PendingLine("李娜", 3, T)] * 20 + [PendingLine("", 1, T)] * 20

    digest = digest_of(burst, 30, T)

    assert digest is not None and (digest.orders, digest.units, digest.top) == (40, 80, (("李娜", 20),))

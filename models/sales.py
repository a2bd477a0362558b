"""Each seller's sales as the upgrade metrics count them, kept as running totals.

The metrics "promoted sales", "customers" and "own purchases" (:mod:`core.upgrade`) were sums
over every order a seller ever made: a query that grew with the seller's history and ran for
every seller of every batch of orders. They are kept here instead, moved by the very
transaction that writes or refunds an order, so reading them is one row per seller.

- ``seller_sales``: per seller, promoted sales and own purchases (amount less refunds) and how
  many distinct buyers the promoted orders had.
- ``seller_customers``: one row per (seller, buyer) of a promoted order. A pair is written
  with INSERT … ON CONFLICT DO NOTHING, and a seller's count of customers goes up by the
  pairs that statement wrote: two transactions selling to the same new buyer at once count
  the buyer once (the second insert waits for the first to commit, then skips).

Worked example: seller 7 sells 199.00 to buyer b1 (promoted), then 199.00 to b1 again, then
buys 99.00 herself, then b1's first order is refunded 50.00 → promoted 348.00, customers 1,
own 99.00.

Migration 0017 fills both tables from the orders already there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.money import ZERO
from models.base import Base, Money
from models.upsert import dialect_name


class SellerSales(Base):
    __tablename__ = "seller_sales"

    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), primary_key=True)
    promoted: Mapped[Decimal] = mapped_column(Money, default=ZERO)  # others' orders, less refunds
    customers: Mapped[int] = mapped_column(Integer, default=0)  # distinct buyers of those
    own: Mapped[Decimal] = mapped_column(Money, default=ZERO)  # own purchases, less refunds


class SellerCustomer(Base):
    __tablename__ = "seller_customers"

    seller_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), primary_key=True)
    buyer_id: Mapped[str] = mapped_column(String(128), primary_key=True)


@dataclass(frozen=True, slots=True)
class Sale:
    """An order as the totals count it."""

    seller_id: int
    buyer_id: str
    own: bool
    amount: Decimal


SALES_OF = select(SellerSales.distributor_id, SellerSales.promoted, SellerSales.customers, SellerSales.own).where(
    SellerSales.distributor_id.in_(bindparam("ids", expanding=True))
)


async def sales_of(bind: AsyncConnection | AsyncSession, ids: Iterable[int]) -> dict[int, tuple[Decimal, int, Decimal]]:
    """Seller id → (promoted sales, customers, own purchases); a seller with none is absent."""
    rows = await bind.execute(SALES_OF, {"ids": sorted(set(ids))})
    return {seller: (promoted, customers, own) for seller, promoted, customers, own in rows}


def _writes_of(dialect: Any) -> tuple[Any, Any]:
    """The two statements of :func:`add_sales` in one dialect: the customers' insert, the
    totals' upsert. Built once (below) and given their rows as an executemany: compiled once,
    not once per batch."""
    customers = dialect.insert(SellerCustomer.__table__)
    customers = customers.on_conflict_do_nothing(index_elements=["seller_id", "buyer_id"])
    totals = dialect.insert(SellerSales.__table__)
    table = totals.table
    return (
        customers.returning(SellerCustomer.seller_id),
        totals.on_conflict_do_update(
            index_elements=["distributor_id"],
            set_={
                "promoted": table.c.promoted + totals.excluded.promoted,
                "customers": table.c.customers + totals.excluded.customers,
                "own": table.c.own + totals.excluded.own,
            },
        ),
    )


_WRITES = {"postgresql": _writes_of(postgresql), "sqlite": _writes_of(sqlite)}


async def add_sales(bind: AsyncConnection | AsyncSession, sales: Iterable[Sale]) -> None:
    """Orders written in this transaction, added to their sellers' totals (two statements)."""
    by_seller: dict[int, list[Decimal]] = {}  # seller → [promoted, own]
    pairs = set()
    for sale in sales:
        by_seller.setdefault(sale.seller_id, [ZERO, ZERO])[1 if sale.own else 0] += sale.amount
        if not sale.own:
            pairs.add((sale.seller_id, sale.buyer_id))
    if not by_seller:
        return
    customers, totals = _WRITES[dialect_name(bind)]
    new: dict[int, int] = {}
    if pairs:  # sorted: two transactions take the keys in one order, never waiting on each other in a circle
        rows = [{"seller_id": s, "buyer_id": b} for s, b in sorted(pairs)]
        for seller in (await bind.execute(customers, rows)).scalars():
            new[seller] = new.get(seller, 0) + 1
    rows = [
        {"distributor_id": seller, "promoted": promoted, "customers": new.get(seller, 0), "own": own}
        for seller, (promoted, own) in sorted(by_seller.items())
    ]
    await bind.execute(totals, rows)


async def refund_sale(bind: AsyncConnection | AsyncSession, seller_id: int, own: bool, amount: Decimal) -> None:
    """A refund of ``amount`` taken off the seller's promoted sales or own purchases."""
    column = SellerSales.own if own else SellerSales.promoted
    await bind.execute(
        update(SellerSales).where(SellerSales.distributor_id == seller_id).values({column: column - amount})
    )


async def known_customers(bind: AsyncConnection | AsyncSession, seller_id: int, buyers: Iterable[str]) -> set[str]:
    """Which of ``buyers`` the seller's totals already count as customers."""
    statement = select(SellerCustomer.buyer_id).where(
        SellerCustomer.seller_id == seller_id, SellerCustomer.buyer_id.in_(sorted(set(buyers)))
    )
    return set((await bind.execute(statement)).scalars())

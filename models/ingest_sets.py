"""The set queries of a batch of paid orders (:mod:`services.order_sets`): each built once, its
cache key with it, and given its lists of ids when asked — ``conn.execute(KNOWN, {"events":
[...], "orders": [...]})``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    Integer,
    Table,
    bindparam,
    exists,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from core.order_sequence import Person
from models.base import Base
from models.catalog import Course, RelayLine, RelayPush
from models.orders import LedgerLine, Order, OrderEvent
from models.people import Buyer, Distributor, FanLock
from models.statuses import DistributorStatus
from models.upsert import dialect_insert


@dataclass(frozen=True, slots=True)
class Member:
    """A distributor row, as much of it as a paid order needs."""

    id: int
    code: str
    name: str
    level: str
    recruiter_id: int | None
    status: str
    buyer_id: str | None
    contact_id: str | None
    helper_account: str | None

    def person(self) -> Person:
        recruiter = str(self.recruiter_id) if self.recruiter_id is not None else None
        return Person(str(self.id), self.level, recruiter, self.status == DistributorStatus.ACTIVE)


MEMBER_COLUMNS = (
    Distributor.id,
    Distributor.code,
    Distributor.name,
    Distributor.level,
    Distributor.recruiter_id,
    Distributor.status,
    Distributor.buyer_id,
    Distributor.contact_id,
    Distributor.helper_account,
)


def table_of(model: Any) -> Table:
    """A mapped class's table (Core statements on it skip the ORM)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _many(name: str) -> BindParameter[Any]:
    return bindparam(name, expanding=True)


# The set queries, built once (their cache keys too): each is given its lists when asked.
KNOWN = union_all(
    select(OrderEvent.event_id, literal("event")).where(OrderEvent.event_id.in_(_many("events"))),
    select(Order.id, literal("order")).where(Order.id.in_(_many("orders"))),
)
# The stock, and whether the course's brand has a relay push open (no push: no relay line).
_PUSH_OPEN = exists().where(RelayPush.brand_id == Course.brand_id, RelayPush.ended_at.is_(None))
STOCK = select(Course.sku, Course.stock, Course.stock_epoch, Course.red_packet_thresholds, _PUSH_OPEN).where(
    Course.sku.in_(_many("skus"))
)
# The buyers' own accounts, the ref codes' owners, and the recruiters of both.
_ASKED = aliased(Distributor)
_RECRUITERS = select(_ASKED.recruiter_id).where(
    or_(_ASKED.buyer_id.in_(_many("buyers")), _ASKED.code.in_(_many("codes")))
)
MEMBERS = select(*MEMBER_COLUMNS).where(
    or_(
        Distributor.buyer_id.in_(_many("buyers")),
        Distributor.code.in_(_many("codes")),
        Distributor.id.in_(_RECRUITERS),
    )
)
MEMBERS_BY_ID = select(*MEMBER_COLUMNS).where(Distributor.id.in_(_many("ids")))
LOCKS = (
    select(FanLock.buyer_id, FanLock.distributor_id, FanLock.since)
    .where(FanLock.buyer_id.in_(_many("buyers")))
    .order_by(FanLock.since, FanLock.id)
)
EARLIER = select(Order.buyer_id, Order.course_sku, Order.brand_id, Order.seller_id, Order.self_purchase).where(
    Order.buyer_id.in_(_many("buyers"))
)
TOTALS = select(Buyer.id, Buyer.self_purchase_total).where(Buyer.id.in_(_many("buyers")))
TAKE_STOCK = (
    update(table_of(Course))
    .where(Course.sku == bindparam("the_sku"), Course.stock == bindparam("seen"))
    .values(stock=Course.stock - bindparam("taken", type_=Integer))
)


async def write_batch(
    session: AsyncSession,
    conn: AsyncConnection,
    rows: Mapping[type[Base], list[dict[str, Any]]],
    buyers: list[dict[str, Any]],
    stock: Mapping[str, tuple[int | None, int]],
) -> str | None:
    """A batch's rows, one executemany per table in the order their keys need (``rows``:
    events, orders, relay lines, fan locks, ledger lines), the buyers added to (created or
    their purchases summed), then each course's stock (sku → (as read, units taken)), taken
    only while it is still as read. Returns the first sku whose stock had changed (nothing
    of it is taken; the caller rolls back), or None."""
    for model in (OrderEvent, Buyer, Order, RelayLine, FanLock, LedgerLine):
        if model is Buyer:
            if buyers:  # an executemany, not a multi-row VALUES: compiled once, then cached
                table = table_of(Buyer)
                statement = dialect_insert(session, table)
                added = table.c.self_purchase_total + statement.excluded.self_purchase_total
                statement = statement.on_conflict_do_update(index_elements=["id"], set_={"self_purchase_total": added})
                await conn.execute(statement, buyers)
        elif rows.get(model):
            await conn.execute(insert(table_of(model)), rows[model])
    for sku, (seen, taken) in sorted(stock.items()):
        if (await conn.execute(TAKE_STOCK, {"the_sku": sku, "seen": seen, "taken": taken})).rowcount != 1:
            return sku
    return None

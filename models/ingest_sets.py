"""The set queries of a batch of paid orders (:mod:`services.order_sets`): each built once, its
cache key with it, and given its lists of ids when asked — ``conn.execute(KNOWN, {"events":
[...], "orders": [...]})``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, Integer, Table, bindparam, literal, or_, select, union_all, update

from models.catalog import Course
from models.orders import Order, OrderEvent
from models.people import Buyer, Distributor, FanLock

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
STOCK = select(Course.sku, Course.stock, Course.stock_epoch, Course.red_packet_thresholds).where(
    Course.sku.in_(_many("skus"))
)
MEMBERS = select(*MEMBER_COLUMNS).where(
    or_(Distributor.buyer_id.in_(_many("buyers")), Distributor.code.in_(_many("codes")))
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

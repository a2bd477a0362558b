"""Queries as plain async functions over a session. Nothing here commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.attribution import Lock, TrialTaken
from core.commission import Kind
from core.ledger import Commission, Entry
from core.money import ZERO
from core.upgrade import Metric
from models.base import rowcount
from models.catalog import BrandGroup, Course, RedPacket, RelayPush
from models.orders import LedgerLine, Order
from models.people import Distributor, FanLock
from models.rooms import RoomMember
from models.sales import sales_of
from models.statuses import RedPacketReason
from models.upsert import insert_or_ignore


async def distributor_by_code(session: AsyncSession, code: str) -> Distributor | None:
    return await session.scalar(select(Distributor).where(Distributor.code == code))


async def lock_history(session: AsyncSession, buyer_id: str) -> list[Lock]:
    rows = await session.execute(
        select(FanLock.distributor_id, FanLock.since).where(FanLock.buyer_id == buyer_id).order_by(FanLock.since)
    )
    return [Lock(str(distributor_id), since) for distributor_id, since in rows]


async def bound_trials(session: AsyncSession, buyer_id: str, sku: str) -> list[TrialTaken]:
    """The buyer's trials bound to course ``sku``, oldest first (:func:`core.attribution.bound_seller`
    decides which one, if any, the course goes to)."""
    rows = await session.execute(
        select(Order.seller_id, Order.paid_at, Order.amount, Order.refunded)
        .join(Course, Course.sku == Order.course_sku)
        .where(Order.buyer_id == buyer_id, Course.bound_to == sku)
        .order_by(Order.paid_at)
    )
    return [
        TrialTaken(str(seller) if seller is not None else None, paid_at, amount, refunded)
        for seller, paid_at, amount, refunded in rows
    ]


async def has_qualified(session: AsyncSession, buyer_id: str, sku: str) -> bool:
    return (
        await session.scalar(
            select(Order.id)
            .where(Order.buyer_id == buyer_id, Order.course_sku == sku, Order.qualified_at.is_not(None))
            .limit(1)
        )
    ) is not None


async def return_stock(session: AsyncSession, sku: str, quantity: int) -> None:
    await session.execute(
        update(Course).where(Course.sku == sku, Course.stock.is_not(None)).values(stock=Course.stock + quantity)
    )


async def open_push(session: AsyncSession, brand_id: str) -> RelayPush | None:
    return await session.scalar(
        select(RelayPush)
        .where(RelayPush.brand_id == brand_id, RelayPush.ended_at.is_(None))
        .order_by(RelayPush.started_at.desc())
        .limit(1)
    )


async def brand_groups(session: AsyncSession, brand_id: str) -> list[BrandGroup]:
    return list(
        await session.scalars(select(BrandGroup).where(BrandGroup.brand_id == brand_id).order_by(BrandGroup.position))
    )


async def group_sizes(session: AsyncSession, brand_id: str) -> list[tuple[BrandGroup, int]]:
    """The brand's groups in fill order, each with its member count as the transport's member
    list last showed it (room_members: read at start and on every join or leave)."""
    members = select(func.count()).where(RoomMember.room_id == BrandGroup.room_id).scalar_subquery()
    rows = await session.execute(
        select(BrandGroup, members).where(BrandGroup.brand_id == brand_id).order_by(BrandGroup.position)
    )
    return [(group, int(count)) for group, count in rows]


async def commissions_of_order(session: AsyncSession, order_id: str) -> list[Commission[int]]:
    """The order's earned commissions as the ledger stands (settled? how much clawed back?)."""
    lines = (await session.scalars(select(LedgerLine).where(LedgerLine.order_id == order_id))).all()
    return commissions_from_lines(lines)


def commissions_from_lines(lines: Iterable[LedgerLine]) -> list[Commission[int]]:
    """Each earned line among ``lines`` as a core commission, with its settlement and what the
    other lines clawed back."""
    earned: dict[int, tuple[LedgerLine, Kind]] = {}
    settled_at: dict[int, datetime] = {}
    clawed: dict[int, Decimal] = {}
    for line in lines:
        if line.entry == Entry.EARNED:
            if line.kind is None:
                raise ValueError(f"ledger line {line.id} is an earned commission of no kind")
            earned[line.id] = line, line.kind
        elif line.commission_id is not None:
            if line.entry == Entry.SETTLED:
                settled_at[line.commission_id] = line.at
            else:
                clawed[line.commission_id] = clawed.get(line.commission_id, ZERO) - line.amount
    return [
        Commission(
            id=line.id,
            payee=str(line.distributor_id),
            kind=kind,
            amount=line.amount,
            earned_at=line.at,
            settled_at=settled_at.get(line.id),
            clawed_back=clawed.get(line.id, ZERO),
        )
        for line, kind in earned.values()
    ]


async def unsettled_commissions(
    session: AsyncSession, earned_before: datetime, after_id: int, limit: int
) -> tuple[list[Commission[int]], dict[int, str | None]]:
    """Earned lines with id > ``after_id``, older than ``earned_before``, with no settled line
    yet (in id order), as core commissions, and each one's order id."""
    settled = select(LedgerLine.commission_id).where(
        LedgerLine.entry == Entry.SETTLED, LedgerLine.commission_id.is_not(None)
    )
    cancellation = aliased(LedgerLine)
    cancelled_sum = (
        select(func.sum(cancellation.amount))
        .where(cancellation.commission_id == LedgerLine.id, cancellation.entry == Entry.CANCELLED)
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(LedgerLine.id, LedgerLine.order_id)
            .where(
                LedgerLine.entry == Entry.EARNED,
                LedgerLine.id > after_id,
                LedgerLine.at <= earned_before,
                LedgerLine.id.not_in(settled),
                # A commission cancelled in full has nothing to settle: without this, every pass
                # would read every fully refunded commission again, forever.
                LedgerLine.amount + func.coalesce(cancelled_sum, 0) > 0,
            )
            .order_by(LedgerLine.id)
            .limit(limit)
        )
    ).all()
    if not rows:
        return [], {}
    ids = [row[0] for row in rows]
    lines = await session.scalars(
        select(LedgerLine).where((LedgerLine.id.in_(ids)) | (LedgerLine.commission_id.in_(ids)))
    )
    return commissions_from_lines(lines), {row[0]: row[1] for row in rows}


async def distributor_metrics(
    session: AsyncSession,
    distributor_id: int,
    vip_levels: Sequence[str],
    only: Iterable[Metric] | None = None,
) -> dict[Metric, Decimal]:
    """The upgrade metrics of one distributor (see core.upgrade for their meaning). With
    ``only``, just the queries those metrics need are run (the order pipeline asks for the
    metrics of the next upgrade step alone)."""
    wanted = set(Metric) if only is None else set(only)
    metrics: dict[Metric, Decimal] = {}
    if sold := wanted & {Metric.PROMOTED_SALES, Metric.CUSTOMERS, Metric.SELF_PURCHASE}:  # models.sales
        promoted, customers, own = (await sales_of(session, [distributor_id])).get(distributor_id, (ZERO, 0, ZERO))
        totals = {Metric.PROMOTED_SALES: promoted, Metric.CUSTOMERS: Decimal(customers), Metric.SELF_PURCHASE: own}
        metrics.update((metric, totals[metric]) for metric in sold)
    if wanted & {Metric.DIRECT_INVITES, Metric.DIRECT_VIPS, Metric.TEAM_SIZE, Metric.TEAM_VIPS}:
        vips = set(vip_levels)
        direct = (
            await session.execute(
                select(Distributor.id, Distributor.level).where(Distributor.recruiter_id == distributor_id)
            )
        ).all()
        direct_vips = sum(1 for _, level in direct if level in vips)
        metrics[Metric.DIRECT_INVITES], metrics[Metric.DIRECT_VIPS] = Decimal(len(direct)), Decimal(direct_vips)
        if wanted & {Metric.TEAM_SIZE, Metric.TEAM_VIPS}:
            direct_ids = [row[0] for row in direct]
            second = (
                (await session.execute(select(Distributor.level).where(Distributor.recruiter_id.in_(direct_ids)))).all()
                if direct_ids
                else []
            )
            metrics[Metric.TEAM_SIZE] = Decimal(len(direct) + len(second))
            metrics[Metric.TEAM_VIPS] = Decimal(direct_vips + sum(1 for (level,) in second if level in vips))
    return metrics


# --- Ops reports (services.reports): read-only, each one query per question. ---


async def ledger_with_courses(session: AsyncSession, distributor_id: int) -> list[tuple[LedgerLine, str | None]]:
    """Every ledger line of one distributor, oldest first, each with its order's course name
    (None for a payout, which has no order)."""
    rows = await session.execute(
        select(LedgerLine, Course.name)
        .outerjoin(Order, Order.id == LedgerLine.order_id)
        .outerjoin(Course, Course.sku == Order.course_sku)
        .where(LedgerLine.distributor_id == distributor_id)
        .order_by(LedgerLine.at, LedgerLine.id)
    )
    return [(line, name) for line, name in rows]


async def brand_courses(session: AsyncSession, brand_id: str) -> list[Course]:
    return list(await session.scalars(select(Course).where(Course.brand_id == brand_id).order_by(Course.sku)))


async def current_threshold_red_packets(session: AsyncSession, brand_id: str) -> list[RedPacket]:
    """The brand's stock-threshold red packets in each course's current stock epoch (the
    stock was not set again since), highest threshold first."""
    return list(
        await session.scalars(
            select(RedPacket)
            .join(Course, Course.sku == RedPacket.course_sku)
            .where(
                RedPacket.brand_id == brand_id,
                RedPacket.reason == RedPacketReason.THRESHOLD,
                RedPacket.stock_epoch == Course.stock_epoch,
            )
            .order_by(RedPacket.course_sku, RedPacket.threshold.desc())
        )
    )


async def unpaid_red_packet_count(session: AsyncSession, brand_id: str) -> int:
    return int(
        await session.scalar(
            select(func.count(RedPacket.id)).where(RedPacket.brand_id == brand_id, RedPacket.paid_at.is_(None))
        )
        or 0
    )


# --- Brand groups: stock, relay lists, showcases, red packets owed (handlers.groups and friends). ---


async def set_stock(session: AsyncSession, sku: str, stock: int | None) -> tuple[int, list[int]]:
    """Set a course's stock and start a new stock epoch, so each threshold can fire again.
    Returns (the new epoch, the thresholds)."""
    row = (
        await session.execute(
            update(Course)
            .where(Course.sku == sku)
            .values(stock=stock, stock_epoch=Course.stock_epoch + 1)
            .returning(Course.stock_epoch, Course.red_packet_thresholds)
        )
    ).one()
    return row[0], list(row[1] or [])


async def lock_brand(session: AsyncSession, brand_id: str) -> None:
    """Take the brand's row lock (PostgreSQL) until commit: two managers starting a relay push
    at once are served one after the other. SQLite serialises writers anyway."""
    from models.catalog import Brand

    await session.execute(select(Brand.id).where(Brand.id == brand_id).with_for_update())


async def showcase_order(
    session: AsyncSession, distributor_id: int, brand_id: str, order_id: str | None
) -> tuple[Order | None, str]:
    """The order a showcase (晒单) is for: ``order_id`` if given, else the distributor's latest
    paid, unrefunded order of the brand without a showcase. Returns (order, "") or (None,
    why): not_found | refunded | already | no_order."""
    shown = select(RedPacket.showcase_order_id).where(RedPacket.showcase_order_id.is_not(None))
    if order_id is None:
        order = await session.scalar(
            select(Order)
            .where(
                Order.seller_id == distributor_id,
                Order.brand_id == brand_id,
                Order.refunded == 0,
                Order.id.not_in(shown),
            )
            .order_by(Order.paid_at.desc(), Order.id.desc())
            .limit(1)
        )
        return (order, "") if order is not None else (None, "no_order")
    order = await session.get(Order, order_id)
    if order is None or order.seller_id != distributor_id or order.brand_id != brand_id:
        return None, "not_found"
    if order.refunded > 0:
        return None, "refunded"
    if await session.scalar(select(RedPacket.id).where(RedPacket.showcase_order_id == order.id)) is not None:
        return None, "already"
    return order, ""


async def add_showcase_red_packet(session: AsyncSession, order: Order, now: datetime) -> int | None:
    """Record the showcase red packet of ``order`` once: None when it already was (even by a
    concurrent transaction)."""
    row = {
        "brand_id": order.brand_id,
        "reason": RedPacketReason.SHOWCASE,
        "course_sku": order.course_sku,
        "showcase_order_id": order.id,
        "created_at": now,
    }
    statement = insert_or_ignore(session, RedPacket, row, on=["showcase_order_id"])
    return await session.scalar(statement.returning(RedPacket.id))


async def red_packets_owed(
    session: AsyncSession, paid: bool, brand_id: str | None, limit: int = 200
) -> list[tuple[RedPacket, str, str | None, Order | None, Distributor | None]]:
    """Red packets owed (``paid`` False, oldest first) or paid (newest first), each with its
    brand name, course name, and for a showcase the order and its seller."""
    from models.catalog import Brand

    query = (
        select(RedPacket, Brand.name, Course.name, Order, Distributor)
        .join(Brand, Brand.id == RedPacket.brand_id)
        .outerjoin(Course, Course.sku == RedPacket.course_sku)
        .outerjoin(Order, Order.id == RedPacket.showcase_order_id)
        .outerjoin(Distributor, Distributor.id == Order.seller_id)
        .where(RedPacket.paid_at.is_not(None) if paid else RedPacket.paid_at.is_(None))
        .order_by(*((RedPacket.paid_at.desc(), RedPacket.id.desc()) if paid else (RedPacket.id,)))
        .limit(limit)
    )
    if brand_id is not None:
        query = query.where(RedPacket.brand_id == brand_id)
    rows = await session.execute(query)
    return [(packet, brand, course, order, seller) for packet, brand, course, order, seller in rows]


async def mark_red_packet_paid(session: AsyncSession, packet_id: int, by: str, now: datetime) -> bool:
    """Mark a red packet paid unless it already is; True when this call marked it."""
    result = await session.execute(
        update(RedPacket).where(RedPacket.id == packet_id, RedPacket.paid_at.is_(None)).values(paid_at=now, paid_by=by)
    )
    return bool(rowcount(result))

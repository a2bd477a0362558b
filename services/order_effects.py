"""What an accepted order event causes beyond its ledger lines, in the same unit of work: the
relay line in the brand's groups during a push, the red packets its stock reached, the
"your commission was clawed back" DMs of a refund, entry by purchase, and the "you earned" and
level-up DMs. Called by the order sequence's SQL ports (:mod:`services.order_store`, and
:mod:`services.order_sets` for batches) only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from bot.base.config import CourseSettings
from bot.base.context import Context
from bot.base.outbox import post_to_brand_groups, queue_text
from core.commission import Party, Payout, Split, split_sale
from core.entry import Applicant, Outcome, Path, decide_entry
from core.group_ops import thresholds_reached
from core.ledger import Entry
from core.ledger import LedgerLine as CoreLine
from core.order_sequence import Person
from core.upgrade import LevelUp
from models import ingest
from models import queries as q
from models.catalog import RelayLine
from models.orders import Order
from models.people import Distributor
from services import audit
from services.codes import new_code


class Payee(Protocol):
    """A distributor as the DMs of a sale need them: a row, or a batch's :class:`models.ingest_sets.Member`."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def contact_id(self) -> str | None: ...
    @property
    def helper_account(self) -> str | None: ...


def split_of(
    ctx: Context, seller: Person | None, recruiter: Person | None, pool: Decimal, margin: Decimal
) -> Split | None:
    """The configured plan's split of one sale between the seller and the seller's direct
    recruiter (two levels at most: :func:`core.commission.split_sale`), or None when nothing
    is paid: no seller, an inactive one (its share stays with the platform), nothing to share."""
    if seller is None or not seller.active or (pool == 0 and margin == 0):
        return None
    return split_sale(
        ctx.settings.plan,
        pool,
        Party(seller.id, seller.level),
        Party(recruiter.id, recruiter.level) if recruiter is not None else None,
        margin=margin,
    )


def queue_earned_of_sale(
    ctx: Context,
    split: Split,
    seller: Person,
    recruiter: Person | None,
    payee_of: Callable[[str], Payee],
    *,
    order_id: str,
    sku: str,
    quantity: int,
    own: bool,
    at: datetime,
) -> None:
    """Each payee's "you earned" DM for one sale (:func:`queue_earned`); ``payee_of`` gives a
    payee's row by distributor id."""
    settles_on = at + timedelta(days=ctx.settings.raw.settlement.refund_window_days)
    course = ctx.settings.courses[sku]
    for person in [seller, *([recruiter] if recruiter is not None else [])]:
        queue_earned(
            ctx,
            payee_of(person.id),
            [p for p in split.payouts if p.payee == person.id],
            order_id=order_id,
            course=course.name,
            quantity=quantity,
            self_purchase=own and person is seller,
            settles_on=settles_on,
        )


def queue_earned(
    ctx: Context,
    payee: Payee,
    payouts: Sequence[Payout],
    *,
    order_id: str,
    course: str,
    quantity: int,
    self_purchase: bool,
    settles_on: datetime,
) -> None:
    """The payee's "you earned" DM for their ``payouts`` of one sale (coalesced: a burst of
    sales is one DM, not twenty)."""
    if not payouts or not payee.contact_id:
        return
    queue_text(
        ctx,
        target=payee.contact_id,
        account=payee.helper_account,
        template="earned_dm",
        coalesce_key=f"earned:{payee.contact_id}",
        data={
            "name": payee.name,
            "order_id": order_id,
            "course": course,
            "quantity": quantity,
            "payouts": [{"kind": p.kind.value, "amount": p.amount} for p in payouts],
            "self_purchase": self_purchase,
            "settles_on": ctx.renderer.local(settles_on, "%m月%d日"),
        },
    )


def record_level_up(ctx: Context, person: Payee, up: LevelUp) -> None:
    """A level reached by a sale: in the audit log, and told to the person. ``person`` as
    before the change."""
    audit.record(
        ctx,
        "membership",
        "distributor.level_up",
        subject=person.code,
        before={"level": person.level},
        after={"level": up.to_level},
    )
    if person.contact_id:
        queue_text(
            ctx,
            target=person.contact_id,
            account=person.helper_account,
            template="level_up_dm",
            data={"name": person.name, "level": up.to_level, "level_name": ctx.settings.levels[up.to_level].name},
        )


def person_id(person: Distributor) -> str:
    """A distributor as the core names them."""
    return str(person.id)


async def relay(ctx: Context, brand_id: str, order: Order, seller: Distributor, course: CourseSettings) -> None:
    """During the brand's open push, the order's numbered line: recorded (the push's boards
    and final list are built from these lines) and queued for every group of the brand."""
    relay = await ingest.next_relay_line(ctx.session, brand_id)
    if relay is None:
        return
    push_id, number = relay
    order.push_id = push_id
    ctx.session.add(
        RelayLine(
            push_id=push_id,
            number=number,
            order_id=order.id,
            seller_id=seller.id,
            amount=order.amount,
            quantity=order.quantity,
            relayed_at=ctx.now,
        )
    )
    data = {"number": number, "seller": seller.name, "course": course.name, "quantity": order.quantity}
    await post_to_brand_groups(ctx, brand_id, "relay_line", data, coalesce="relay")


async def dm_clawbacks(ctx: Context, order: Order, refunded: Decimal, lines: list[CoreLine[int]]) -> None:
    course = ctx.settings.courses[order.course_sku]
    by_payee: dict[str, list[CoreLine[int]]] = {}
    for line in lines:
        if line.entry is not Entry.SETTLED:
            by_payee.setdefault(line.payee, []).append(line)
    for payee, mine in by_payee.items():
        person = await ctx.session.get(Distributor, int(payee))
        if person is None or not person.contact_id:
            continue
        queue_text(
            ctx,
            target=person.contact_id,
            account=person.helper_account,
            template="clawback_dm",
            data={
                "order_id": order.id,
                "course": course.name,
                "refunded": refunded,
                "lines": [
                    {"kind": ln.kind, "amount": ln.amount, "after_settlement": ln.entry is Entry.ADJUSTED}
                    for ln in mine
                ],
            },
        )


async def thresholds_crossed(
    ctx: Context, course: CourseSettings, brand_id: str, before: int, after: int, epoch: int, thresholds: list[int]
) -> None:
    """Stock went from ``before`` to ``after``: each threshold this order reaches
    (:func:`core.group_ops.thresholds_reached`) is reached by it alone (the stock UPDATE
    serialises orders), so it is recorded and announced once — and once only in a stock epoch:
    when a refund put the stock back above a threshold already reached, reaching it again
    records and announces nothing."""
    reached = thresholds_reached(before, after, thresholds)
    if not reached:
        return
    recorded = await ingest.record_thresholds(
        ctx.session, brand_id=brand_id, sku=course.sku, epoch=epoch, thresholds=reached, now=ctx.now
    )
    crossed = [threshold for threshold in reached if threshold in recorded]
    if not crossed:
        return
    brand = ctx.settings.brands[brand_id]
    groups = await q.brand_groups(ctx.session, brand_id)
    for threshold in crossed:
        data = {"course": course.name, "threshold": threshold, "stock": after, "brand": brand.name}
        await post_to_brand_groups(ctx, brand_id, "red_packet_announcement", data)
        for manager in brand.managers:
            queue_text(
                ctx,
                target=manager,
                template="red_packet_manager_dm",
                data={**data, "groups": [g.name for g in groups]},
            )


async def enter_by_purchase(
    ctx: Context, buyer_id: str, name: str, purchases: Decimal, locked_to: str | None
) -> Distributor | None:
    """Automatic entry at the lowest level once the buyer's purchases reach the threshold;
    the recruiter is ``locked_to``, the (active) distributor who sold to them. A buyer who has
    a distributor account already (a suspended one) is not enrolled again. Returns the new
    member (added to the session, not flushed), or None."""
    rules = ctx.settings.entry
    if Path.PURCHASE not in rules.paths:
        return None
    decision = decide_entry(Applicant(person=buyer_id, self_purchase_total=purchases, locked_to=locked_to), rules)
    if decision.outcome is not Outcome.ADMITTED or decision.path is not Path.PURCHASE:
        return None  # only the purchase path enrols a buyer here; codes, reach and open entry are asked for
    account, _ = await ingest.distributors_for_order(ctx.session, buyer_id, None)
    if account is not None:
        return None  # a member already, suspended (an active one buys as themself): not enrolled twice
    member = Distributor(
        code=new_code(),
        name=name,
        buyer_id=buyer_id,
        level=ctx.settings.level_codes[0],
        recruiter_id=int(decision.recruiter) if decision.recruiter else None,
        entry_path=Path.PURCHASE.value,
        joined_at=ctx.now,
        level_since=ctx.now,
    )
    ctx.session.add(member)
    return member

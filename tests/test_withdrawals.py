"""Withdrawals (提现) end to end: a distributor asks by DM, sees what can be withdrawn and why
not; ops approve (a paid_out ledger line, the balance drops, the person is told) or reject
with a reason on the console and the API; finance exports the approved ones; and on
PostgreSQL, requests and approvals arriving at the same moment never pay twice."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.ledger import Entry
from models import AuditEntry, Distributor, LedgerLine, OutboxMessage, Withdrawal
from services import withdrawals
from services.errors import Conflict, Refused
from services.settlement import settle_pass
from tests.console_support import log_in, make_account
from tests.dm_support import dm, run
from tests.support import TOKEN, order_event, post_event

AUTH = {"Authorization": f"Bearer {TOKEN}"}
LINA = "wx-lina"


async def settled_sale(client, services, order: str = "o-1") -> None:
    """李娜 (DEMOC001) sells one course (144.00 to her), and the refund window passes."""
    status, _ = await post_event(client, order_event(order, ref="DEMOC001", buyer=f"b-{order}"))
    assert status == 200
    services.clock.advance(days=8)
    await settle_pass(services)


async def texts_to(services, target: str, template: str) -> list[str]:
    async with services.db.reading() as session:
        return list(
            await session.scalars(
                select(OutboxMessage.text)
                .where(OutboxMessage.target == target, OutboxMessage.template == template)
                .order_by(OutboxMessage.id)
            )
        )


async def lina_id(services) -> int:
    async with services.db.reading() as session:
        return int(await session.scalar(select(Distributor.id).where(Distributor.code == "DEMOC001")))


async def payouts(services) -> list[Decimal]:
    async with services.db.reading() as session:
        return list(await session.scalars(select(LedgerLine.amount).where(LedgerLine.entry == Entry.PAID_OUT)))


async def test_a_withdrawal_is_requested_approved_and_the_balance_and_ledger_follow(client, services):
    await settled_sale(client, services)
    await post_event(client, order_event("o-2", ref="DEMOC001", buyer="b-2"))  # 144.00 still pending

    await run(services, dm(LINA, "提现"))
    [status] = await texts_to(services, LINA, "withdrawal_status")
    assert "可提现 144.00 元" in status and "待结算 144.00 元" in status

    await run(services, dm(LINA, "提现 100"))
    assert "已收到李娜的提现申请：100.00 元" in (await texts_to(services, LINA, "withdrawal_requested"))[0]
    assert "李娜（DEMOC001）申请提现 100.00 元" in (await texts_to(services, "ops-xiaomei", "withdrawal_ops"))[0]

    await run(services, dm(LINA, "提现 20"))
    [refused] = await texts_to(services, LINA, "withdrawal_refused")
    assert "已有一笔 100.00 元的提现在等待审核" in refused

    listed = await (await client.get("/api/withdrawals", headers=AUTH)).json()
    [open_one] = listed["withdrawals"]
    assert open_one["amount"] == "100.00" and open_one["distributor"]["code"] == "DEMOC001"
    approved = await client.post(
        f"/api/withdrawals/{open_one['id']}/approve", json={"by": "finance-wang"}, headers=AUTH
    )
    assert approved.status == 200, await approved.text()

    assert await payouts(services) == [Decimal("-100.00")]
    earnings = await (await client.get("/api/distributors/DEMOC001/earnings", headers=AUTH)).json()
    assert earnings["totals"]["balance"] == "44.00"
    assert (
        "你的提现 100.00 元已审核通过并打款，当前余额 44.00 元"
        in (await texts_to(services, LINA, "withdrawal_approved"))[0]
    )
    again = await client.post(f"/api/withdrawals/{open_one['id']}/approve", json={}, headers=AUTH)
    assert again.status == 409
    assert await payouts(services) == [Decimal("-100.00")]
    async with services.db.reading() as session:
        actions = list(await session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("withdrawal.%"))))
        approval = await session.scalar(select(AuditEntry).where(AuditEntry.action == "withdrawal.approve"))
    assert actions == ["withdrawal.request", "withdrawal.approve"]
    assert (approval.actor, approval.source) == ("finance-wang", "api")
    assert approval.before["balance"] == "144.00" and approval.after["balance"] == "44.00"


async def test_only_settled_money_above_the_minimum_can_be_asked_for(client, services):
    await post_event(client, order_event("o-1", ref="DEMOC001"))  # pending only

    await run(services, dm(LINA, "提现 100"), dm(LINA, "提现 abc"))
    [refused] = await texts_to(services, LINA, "withdrawal_refused")
    assert "超过了可提现的已结算余额 0.00 元（另有 144.00 元待结算" in refused
    assert "最低 50.00 元" in (await texts_to(services, LINA, "withdrawal_usage"))[0]

    services.clock.advance(days=8)
    await settle_pass(services)
    await run(services, dm(LINA, "提现 30"))
    assert "每次至少提现 50.00 元" in (await texts_to(services, LINA, "withdrawal_refused"))[-1]
    async with services.db.reading() as session:
        assert list(await session.scalars(select(Withdrawal))) == []


async def test_a_negative_balance_after_a_claw_back_blocks_withdrawal_and_says_why(client, services):
    await settled_sale(client, services)
    async with services.context() as ctx:
        row = await withdrawals.request_withdrawal(ctx, await lina_id(services), Decimal("144.00"))
    async with services.context() as ctx:
        await withdrawals.approve(ctx, row.id)
    refund = order_event("o-1", type="refunded", amount="399.00", at=services.clock.now())
    assert (await post_event(client, refund))[0] == 200

    await run(services, dm(LINA, "提现"), dm(LINA, "提现 60"))
    assert "暂时不能提现：余额为负" in (await texts_to(services, LINA, "withdrawal_status"))[0]
    assert "你的余额为 -144.00 元" in (await texts_to(services, LINA, "withdrawal_refused"))[0]


async def test_an_approval_after_a_refund_lowered_the_balance_is_refused_and_ops_reject_with_a_reason(client, services):
    await settled_sale(client, services)
    async with services.context() as ctx:
        row = await withdrawals.request_withdrawal(ctx, await lina_id(services), Decimal("144.00"))
    refund = order_event("o-1", type="refunded", amount="133.00", at=services.clock.now())
    assert (await post_event(client, refund))[0] == 200  # claws 48.00 back: balance 96.00

    refused = await client.post(f"/api/withdrawals/{row.id}/approve", json={}, headers=AUTH)
    assert refused.status == 409
    assert (await refused.json())["code"] == "above_balance"
    assert await payouts(services) == []
    no_reason = await client.post(f"/api/withdrawals/{row.id}/reject", json={"reason": " "}, headers=AUTH)
    assert no_reason.status == 422
    rejected = await client.post(
        f"/api/withdrawals/{row.id}/reject", json={"reason": "订单有退款，请重新申请"}, headers=AUTH
    )
    assert rejected.status == 200
    assert "未通过审核：订单有退款，请重新申请" in (await texts_to(services, LINA, "withdrawal_rejected"))[0]
    await run(services, dm(LINA, "提现 96"))
    assert await texts_to(services, LINA, "withdrawal_requested")  # a new request may be made


async def test_ops_approve_and_reject_on_the_console_and_export_the_approved_for_finance(client, services):
    await settled_sale(client, services)
    await make_account(services, "xiaomei")
    csrf = await log_in(client, "xiaomei")
    async with services.context() as ctx:
        first = await withdrawals.request_withdrawal(ctx, await lina_id(services), Decimal("60.00"))

    page = await (await client.get("/console/withdrawals")).text()
    assert "李娜" in page and "60.00" in page
    done = await client.post(f"/console/withdrawals/{first.id}/approve", data={"csrf": csrf})
    assert "提现已通过" in await done.text()
    async with services.context() as ctx:
        second = await withdrawals.request_withdrawal(ctx, await lina_id(services), Decimal("50.00"))
    done = await client.post(f"/console/withdrawals/{second.id}/reject", data={"csrf": csrf, "reason": "收款账户有误"})
    assert "提现已拒绝" in await done.text()

    export = await client.get("/console/withdrawals/approved.csv?since=2026-12-01&until=2026-12-31")
    assert export.headers["Content-Type"].startswith("text/csv")
    rows = (await export.text()).splitlines()
    assert rows[0] == "withdrawal_id,approved_at,code,name,amount,approved_by,ledger_line"
    assert rows[1].startswith(f"{first.id},2026-12-03T10:00:00+08:00,DEMOC001,李娜,60.00,xiaomei,")
    assert rows[2] == "total,,,,60.00,,"
    assert len(rows) == 3
    earlier = await (
        await client.get("/api/withdrawals/approved.csv?since=2026-11-01&until=2026-11-30", headers=AUTH)
    ).text()
    assert earlier.splitlines()[1:] == ["total,,,,0.00,,"]


async def test_a_manager_cannot_reach_the_withdrawals_page(client, services):
    await make_account(services, "zhaolin", "manager", ["xinghuo"])
    await log_in(client, "zhaolin")
    assert (await client.get("/console/withdrawals")).status == 403


async def test_two_requests_at_the_same_moment_open_one_and_two_approvals_pay_once(client, services, dialect):
    if dialect != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite serialises every writer)")
    await settled_sale(client, services)
    person = await lina_id(services)

    async def ask(amount: str):
        async with services.context() as ctx:
            return await withdrawals.request_withdrawal(ctx, person, Decimal(amount))

    asked = await asyncio.gather(*(ask(a) for a in ("100.00", "140.00", "60.00", "80.00")), return_exceptions=True)
    opened = [r for r in asked if isinstance(r, Withdrawal)]
    assert len(opened) == 1
    assert all(isinstance(r, Refused) and r.code == "open_request" for r in asked if r not in opened)

    async def approve():
        async with services.context() as ctx:
            return await withdrawals.approve(ctx, opened[0].id)

    approved = await asyncio.gather(*(approve() for _ in range(4)), return_exceptions=True)
    assert sum(isinstance(r, Withdrawal) for r in approved) == 1
    assert all(isinstance(r, Conflict) for r in approved if not isinstance(r, Withdrawal))
    assert await payouts(services) == [-opened[0].amount]

"""What each kind of order does, through the signed webhook: who is paid, what is locked,
what the groups and people are told."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select, update

from models import AuditEntry, Course, Distributor, LedgerLine, OutboxMessage, RedPacket, RelayPush
from services.settlement import settle_pass
from tests.support import ROOT, START, edited_settings, order_event, post_event, running_services, web_client


def payouts(body) -> set[tuple[str, str, str]]:
    return {(p["distributor"], p["kind"], p["amount"]) for p in body["payouts"]}


async def texts_to(services, target: str) -> list[str]:
    async with services.db.reading() as session:
        return list(
            await session.scalars(
                select(OutboxMessage.text).where(OutboxMessage.target == target).order_by(OutboxMessage.id)
            )
        )


async def test_a_distributor_buying_for_herself_is_the_seller_and_is_told_it_saved_her_money(client, services):
    status, body = await post_event(client, order_event("o-1", buyer="buyer-lina", ref="DEMOC002"))

    assert status == 200, body
    assert (body["seller"], body["attribution"]) == ("DEMOC001", "self_purchase")
    assert payouts(body) == {("DEMOC001", "seller", "144.00"), ("DEMOB001", "management", "7.20")}
    assert "自购省钱：144.00 元" in (await texts_to(services, "wx-lina"))[0]


async def test_a_buyer_stays_with_the_first_distributor_during_protection_then_moves_semi_lifetime(client, services):
    async def on_day(day: int, order: str, ref: str | None = None) -> tuple[int, dict]:
        services.clock.at = START + timedelta(days=day)
        return await post_event(client, order_event(order, ref=ref, at=services.clock.at))

    first = await on_day(0, "o-1", "DEMOC001")
    again = await on_day(1, "o-2")
    protected = await on_day(6, "o-3", "DEMOC002")
    moved = await on_day(8, "o-4", "DEMOC002")
    after = await on_day(9, "o-5")

    assert [r[1]["seller"] for r in (first, again, protected, moved, after)] == [
        "DEMOC001",
        "DEMOC001",
        "DEMOC001",
        "DEMOC002",
        "DEMOC002",
    ]
    assert [r[1]["attribution"] for r in (first, moved)] == ["new_lock", "moved"]


async def test_an_order_with_no_code_from_an_unlocked_buyer_pays_nobody_and_the_platform_keeps_the_pool(
    client, services
):
    status, body = await post_event(client, order_event("o-1"))

    assert (status, body["seller"], body["payouts"]) == (200, None, [])
    async with services.db.reading() as session:
        assert await session.scalar(select(func.count(LedgerLine.id))) == 0


async def test_a_cpa_trial_pays_nothing_when_bought_and_its_bounty_once_when_the_customer_attends(client, services):
    bought = await post_event(client, order_event("t-1", sku="XH-TRIAL", amount="0.10", ref="DEMOC001"))
    attended = await post_event(client, order_event("t-1", type="qualified", sku="XH-TRIAL", amount="0"))
    services.clock.advance(hours=1)
    await post_event(client, order_event("t-2", sku="XH-TRIAL", amount="0.10", ref="DEMOC001", at=services.clock.at))
    again = await post_event(client, order_event("t-2", type="qualified", sku="XH-TRIAL", amount="0"))

    assert bought[1]["payouts"] == []
    assert payouts(attended[1]) == {("DEMOC001", "seller", "24.00"), ("DEMOB001", "management", "1.20")}
    assert (again[1]["payouts"], again[1]["note"]) == ([], "customer_already_qualified")


async def test_the_full_course_bound_to_a_trial_pays_the_trials_seller_even_with_another_code(client, services):
    await post_event(client, order_event("t-1", sku="HB-TRIAL", amount="9.90", ref="DEMOC002"))

    services.clock.advance(days=20)
    status, body = await post_event(
        client, order_event("f-1", sku="HB-YEAR", amount="1280.00", ref="DEMOC001", at=services.clock.at)
    )

    assert (status, body["seller"], body["attribution"]) == (200, "DEMOC002", "bound_trial")
    assert ("DEMOC002", "seller", "288.00") in payouts(body)  # 80% of 360.00


async def test_checkin_cashback_pays_once_per_new_customer_and_the_cashback_claws_nothing_back(client, services):
    first = await post_event(client, order_event("k-1", sku="KX-CHECKIN", amount="599.00", ref="DEMOC001"))
    services.clock.advance(days=1)
    second = await post_event(client, order_event("k-2", sku="KX-CHECKIN", amount="599.00", at=services.clock.at))
    cashback = await post_event(client, order_event("k-1", type="checkin_completed", sku="KX-CHECKIN", amount="0"))

    assert payouts(first[1]) == {("DEMOC001", "seller", "192.00"), ("DEMOB001", "management", "9.60")}
    assert second[1]["payouts"] == []
    assert cashback[0] == 200
    async with services.db.reading() as session:
        assert await session.scalar(select(func.sum(LedgerLine.amount))) == Decimal("201.60")


async def test_a_partner_who_sells_also_gets_a_share_of_the_platform_margin_as_its_own_kind(client, services):
    _, body = await post_event(client, order_event("o-1", ref="DEMOA001"))

    assert payouts(body) == {("DEMOA001", "seller", "162.00"), ("DEMOA001", "partner", "6.00")}
    assert "平台分成：6.00 元" in (await texts_to(services, "wx-linxiao"))[0]


async def test_crossing_a_stock_threshold_announces_a_red_packet_in_every_brand_group_once(client, services):
    async with services.db.unit_of_work() as session:
        await session.execute(update(Course).where(Course.sku == "XH-MATH-S1").values(stock=102))

    await post_event(client, order_event("o-1", quantity=2, amount="798.00", ref="DEMOC001"))
    await post_event(client, order_event("o-2", ref="DEMOC001", buyer="buyer-2"))

    async with services.db.reading() as session:
        packets = (await session.execute(select(RedPacket.threshold, RedPacket.paid_at))).all()
    assert packets == [(100, None)]
    for room in ("room-xinghuo-1", "room-xinghuo-2"):
        announcements = [t for t in await texts_to(services, room) if "🧧" in t]
        assert announcements == [
            "🧧 星火思维秋季课 库存降到 100 份及以下（现余 100 份）！\n红包来啦，课程经理马上在群里发，大家继续冲～"
        ]
    manager = await texts_to(services, "mgr-zhaolin")
    assert len(manager) == 1 and "星火思维推广1群、星火思维推广2群" in manager[0]


async def test_during_a_push_each_attributed_order_adds_a_numbered_line_with_the_seller_masked(client, services):
    async with services.db.unit_of_work() as session:
        session.add(RelayPush(brand_id="xinghuo", title="双十二", started_at=START, started_by="mgr-zhaolin"))

    await post_event(client, order_event("o-1", ref="DEMOC001"))
    await post_event(client, order_event("o-2", buyer="buyer-2"))  # no seller: no line
    await post_event(client, order_event("o-3", ref="DEMOC002", buyer="buyer-3", quantity=2, amount="798.00"))

    lines = await texts_to(services, "room-xinghuo-1")
    assert lines == ["1. 李** 出单 星火思维秋季课 ×1", "2. 张** 出单 星火思维秋季课 ×2"]
    async with services.db.reading() as session:
        keys = set(await session.scalars(select(OutboxMessage.coalesce_key).where(OutboxMessage.target_is_room)))
    assert keys == {"relay:room-xinghuo-1", "relay:room-xinghuo-2"}


async def test_a_c_who_sells_10000_yuan_to_20_customers_becomes_a_b_and_is_congratulated(client, services):
    for i in range(26):  # 26 × 399.00 = 10,374.00 to 26 customers
        services.clock.at = START + timedelta(minutes=i)
        await post_event(client, order_event(f"o-{i}", buyer=f"b-{i}", ref="DEMOC002", at=services.clock.at))

    async with services.db.reading() as session:
        level = await session.scalar(select(Distributor.level).where(Distributor.code == "DEMOC002"))
    assert level == "B"
    congratulations = [t for t in await texts_to(services, "wx-zhangwei") if "恭喜" in t]
    assert congratulations == [
        "🎊 恭喜 张伟 升级为 主管（B）！\n从下一单起按 主管 的比例计算佣金。发送“升级”查看下一级条件。"
    ]


async def test_commissions_settle_after_the_refund_window_and_a_later_refund_is_a_negative_adjustment(client, services):
    await post_event(client, order_event("o-1", ref="DEMOC001"))
    services.clock.advance(days=6)
    assert await settle_pass(services) == 0
    services.clock.advance(days=2)
    assert await settle_pass(services) == 2
    assert await settle_pass(services) == 0

    services.clock.advance(days=1)
    refund = order_event("o-1", type="refunded", amount="399.00", quantity=1, at=services.clock.now())
    status, body = await post_event(client, refund, at=services.clock.now())

    assert status == 200
    assert {(c["kind"], c["amount"]) for c in body["clawed_back"]} == {("seller", "-144.00"), ("management", "-7.20")}
    async with services.db.reading() as session:
        entries = dict((await session.execute(select(LedgerLine.entry, func.count()).group_by(LedgerLine.entry))).all())
        stock = await session.scalar(select(Course.stock).where(Course.sku == "XH-MATH-S1"))
    assert entries == {"earned": 2, "settled": 2, "adjusted": 2}
    assert stock == 300
    assert "已结算，记为负数调整" in (await texts_to(services, "wx-lina"))[-1]


async def test_a_customer_whose_purchases_reach_the_threshold_enters_as_the_lowest_level(databases, dialect):
    settings = edited_settings(("  paths: [code, reach]", "  paths: [code, reach, purchase]\n  purchase_threshold: 99"))
    async with running_services(databases, dialect, settings) as services, web_client(services) as client:
        await post_event(client, order_event("o-1", sku="KX-BOX", amount="199.00", ref="DEMOC001", buyer="b-new"))

        async with services.db.reading() as session:
            newcomer = await session.scalar(select(Distributor).where(Distributor.buyer_id == "b-new"))
            recruiter = await session.scalar(select(Distributor.code).where(Distributor.id == newcomer.recruiter_id))
    assert (newcomer.level, newcomer.entry_path, recruiter) == ("C", "purchase", "DEMOC001")


async def test_a_c_whose_recruit_becomes_a_vip_through_a_sale_climbs_in_the_same_order(databases, dialect):
    upgrades = (ROOT / "config.yaml").read_text(encoding="utf-8").split("\nupgrades:\n")[1].split("\nops:")[0]
    easy = "{promoted_sales: 399}, {direct_vips: 1}"
    recruit = "    - {code: DEMOC002, name: 张伟, level: C, recruiter: DEMOB001, contact_id: wx-zhangwei}"
    settings = edited_settings(
        (f"upgrades:\n{upgrades}\n", f"upgrades:\n  - {{from: C, to: B, any_of: [{easy}]}}\n"),
        (recruit, f"{recruit}\n    - {{code: DEMOC003, name: 赵磊, level: C, recruiter: DEMOC001}}"),
    )
    async with running_services(databases, dialect, settings) as services, web_client(services) as client:
        await post_event(client, order_event("o-1", ref="DEMOC003"))  # 赵磊 sells 399.00: C → B, a VIP

        async with services.db.reading() as session:
            levels = dict((await session.execute(select(Distributor.code, Distributor.level))).all())
            climbs = (
                await session.execute(
                    select(AuditEntry.subject, AuditEntry.before, AuditEntry.after, AuditEntry.actor).where(
                        AuditEntry.action == "distributor.level_up"
                    )
                )
            ).all()
    assert (levels["DEMOC003"], levels["DEMOC001"], levels["DEMOB001"]) == ("B", "B", "B")
    assert sorted(climbs) == [  # each climb in the audit log, as the system's doing
        ("DEMOC001", {"level": "C"}, {"level": "B"}, "system"),
        ("DEMOC003", {"level": "C"}, {"level": "B"}, "system"),
    ]


async def test_refunds_cannot_put_back_more_units_than_the_order_took(client, services):
    await post_event(client, order_event("o-1", quantity=2, amount="798.00", ref="DEMOC001"))

    first = await post_event(client, order_event("o-1", type="refunded", amount="100.00", quantity=2, event_id="r-1"))
    second = await post_event(client, order_event("o-1", type="refunded", amount="100.00", quantity=2, event_id="r-2"))

    assert (first[0], second[0], second[1]["code"]) == (200, 422, "refund_quantity")
    async with services.db.reading() as session:
        assert await session.scalar(select(Course.stock).where(Course.sku == "XH-MATH-S1")) == 300


async def test_a_suspended_seller_gets_no_cpa_bounty_and_the_platform_keeps_it(client, services):
    await post_event(client, order_event("t-1", sku="XH-TRIAL", amount="0.10", ref="DEMOC001"))
    async with services.db.unit_of_work() as session:
        await session.execute(update(Distributor).where(Distributor.code == "DEMOC001").values(status="suspended"))

    status, body = await post_event(client, order_event("t-1", type="qualified", sku="XH-TRIAL", amount="0"))

    assert (status, body["payouts"]) == (200, [])
    async with services.db.reading() as session:
        assert await session.scalar(select(func.count(LedgerLine.id))) == 0


async def test_a_purchase_threshold_without_the_purchase_path_enrols_nobody(databases, dialect):
    settings = edited_settings(("  paths: [code, reach]", "  paths: [code, reach, open]\n  purchase_threshold: 99"))
    async with running_services(databases, dialect, settings) as services, web_client(services) as client:
        await post_event(client, order_event("o-1", sku="KX-BOX", amount="199.00", ref="DEMOC001", buyer="b-new"))

        async with services.db.reading() as session:
            assert await session.scalar(select(Distributor).where(Distributor.buyer_id == "b-new")) is None


async def test_a_commission_refunded_in_full_is_never_read_again_by_the_settlement_pass(client, services):
    from models import queries as q

    await post_event(client, order_event("o-1", ref="DEMOC001"))
    await post_event(client, order_event("o-1", type="refunded", amount="399.00", quantity=1))
    await post_event(client, order_event("o-2", ref="DEMOC001", buyer="b-2"))
    services.clock.advance(days=8)

    async with services.db.reading() as session:
        _, orders = await q.unsettled_commissions(session, services.clock.now(), 0, 100)
    settled = await settle_pass(services)

    assert set(orders.values()) == {"o-2"}
    assert settled == 2

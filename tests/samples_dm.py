"""Sample data for the templates of private-message capabilities: brand keywords and groups,
codes and joining, earnings and upgrade progress, the material group, the menu reminder."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

AT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
BRANDS = [{"name": "星火思维", "keyword": "数学"}, {"name": "绘本岛", "keyword": "阅读"}]
CONDITION = {
    "metric": "promoted_sales",
    "current": Decimal("4000.00"),
    "target": Decimal("10000.00"),
    "percent": 40,
    "missing": Decimal("6000.00"),
    "met": False,
    "money": True,
    "bar": "▓▓▓▓░░░░░░",
}
SAMPLES: dict[str, dict] = {
    "how_to_join": {
        "platform": "童趣优课",
        "asked": "星火思维",
        "keyword": "数学",
        "code": True,
        "open": False,
        "reach": {"min_friends": 300, "min_groups": 2, "review": True},
        "purchase": None,
    },
    "group_joined": {"brand": "星火思维", "group": "星火思维推广1群", "join": "invite"},
    "group_already_in": {"brand": "星火思维", "groups": ["星火思维推广1群"]},
    "group_created": {"brand": "星火思维", "group": "星火思维推广3群"},
    "groups_full_wait": {"brand": "星火思维", "keyword": "数学", "retry_at": AT},
    "groups_full_ops": {
        "brand": "星火思维",
        "brand_id": "xinghuo",
        "groups": [{"name": "星火思维推广1群", "members": 480, "limit": 450}],
    },
    "group_created_ops": {"brand": "星火思维", "group": "星火思维推广3群", "room": "room-3"},
    "menu_reminder": {"brands": BRANDS},
    "earnings_dm": {
        "name": "李娜",
        "totals": {
            "pending": Decimal("144.00"),
            "settled": Decimal("0.00"),
            "cancelled": Decimal("0.00"),
            "paid_out": Decimal("0.00"),
            "balance": Decimal("0.00"),
        },
        "by_kind": [{"kind": "seller", "amount": Decimal("144.00")}],
        "month": "2026-11",
        "this_month": Decimal("144.00"),
        "lines": [
            {"at": AT, "course": "星火思维秋季课", "kind": "seller", "entry": "earned", "amount": Decimal("144.00")}
        ],
    },
    "progress_dm": {
        "name": "李娜",
        "level": "C",
        "level_name": "推广员",
        "next_level": "B",
        "next_level_name": "主管",
        "eligible": False,
        "sets": [{"completion": 40, "closest": True, "conditions": [CONDITION]}],
    },
    "my_code": {"code": "DEMOB001"},
    "my_code_cannot_recruit": {"level_name": "推广员", "recruit_levels": ["主管", "合伙人"]},
    "registered": {
        "platform": "童趣优课",
        "name": "陈静",
        "level": "C",
        "level_name": "推广员",
        "code": "K7M2P9QX",
        "recruiter": "王芳",
        "material": True,
        "brands": BRANDS,
    },
    "new_recruit_dm": {"recruit": "陈静", "platform": "童趣优课"},
    "register_refused": {"reason": "unknown_code", "code": "NOPE1234", "mine": ""},
    "register_wait": {"retry_at": AT},
    "reach_application": {"outcome": "review", "friends": 500, "groups": 3, "min_friends": 300, "min_groups": 2},
    "entry_application_ops": {"name": "陈静", "contact": "wx-chenjing", "friends": 500, "groups": 3},
    "material_post": {
        "platform": "童趣优课",
        "brands": [{"name": "星火思维", "intro": "3–10 岁数学思维", "keyword": "数学"}],
    },
    "material_command": {"outcome": "posted", "count": 3, "last": AT, "every": 10},
    "answer_later": {"seconds": 42},
}
EXPECTED = {
    "answer_later": "消息有点多，请 42 秒后再试～",
    "how_to_join": "发送“注册 邀请码”",
    "group_joined": "「星火思维推广1群」的入群邀请马上发给你",
    "group_already_in": "你已经在「星火思维推广1群」里啦",
    "group_created": "已为你新开「星火思维推广3群」",
    "groups_full_wait": "请在 11:00 之后再发送“数学”",
    "groups_full_ops": "星火思维推广1群：480/450 人",
    "group_created_ops": "已新建「星火思维推广3群」（room-3）",
    "menu_reminder": "“数学”（星火思维）、“阅读”（绘本岛）",
    "earnings_dm": "待结算 144.00 · 已结算 0.00",
    "progress_dm": "推广销售额 ▓▓▓▓░░░░░░ 40%\n  4,000.00 元 / 10,000.00 元，还差 6,000.00 元",
    "my_code": "你的邀请码：DEMOB001",
    "my_code_cannot_recruit": "升到主管或合伙人就有邀请码啦",
    "registered": "你的邀请码（也是推广码）：K7M2P9QX",
    "new_recruit_dm": "陈静 用你的邀请码加入了童趣优课",
    "register_refused": "没有找到邀请码 NOPE1234",
    "register_wait": "请在 11:00 之后再试",
    "reach_application": "已收到你的申请（微信好友 500 人、群 3 个）",
    "entry_application_ops": "陈静（wx-chenjing），微信好友 500 人、群 3 个",
    "material_post": "1. 星火思维：3–10 岁数学思维\n   私聊小助手发送“数学”",
    "material_command": "已把推荐发到素材群（3 个品牌）",
}

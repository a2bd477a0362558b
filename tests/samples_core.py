"""Sample data for the templates of the core messages (orders, menu, errors).

Each area keeps its samples in a ``tests/samples_<area>.py`` with ``SAMPLES`` (template name →
data) and ``EXPECTED`` (template name → a piece of text the rendering must contain);
tests/test_templates.py gathers them all."""

from __future__ import annotations

from decimal import Decimal

BRANDS = [
    {"name": "星火思维", "keyword": "数学", "intro": "数学思维"},
    {"name": "绘本岛", "keyword": "阅读", "intro": ""},
]
SAMPLES: dict[str, dict] = {
    "earned_dm": {
        "name": "李娜",
        "order_id": "o-1",
        "course": "星火思维秋季课",
        "quantity": 1,
        "payouts": [{"kind": "seller", "amount": Decimal("144.00")}],
        "self_purchase": False,
        "settles_on": "12月02日",
    },
    "clawback_dm": {
        "order_id": "o-1",
        "course": "星火思维秋季课",
        "refunded": Decimal("133.00"),
        "lines": [{"kind": "seller", "amount": Decimal("-48.00"), "after_settlement": False}],
    },
    "relay_line": {"number": 3, "seller": "李娜", "course": "星火思维秋季课", "quantity": 2},
    "relay_digest": {
        "minutes": 1,
        "orders": 312,
        "units": 312,
        "top": [{"seller": "李娜", "orders": 120}, {"seller": "张伟", "orders": 80}, {"seller": "王芳", "orders": 60}],
    },
    "red_packet_announcement": {"course": "星火思维秋季课", "threshold": 100, "stock": 99, "brand": "星火思维"},
    "red_packet_manager_dm": {
        "course": "星火思维秋季课",
        "threshold": 100,
        "stock": 99,
        "brand": "星火思维",
        "groups": ["星火思维推广1群", "星火思维推广2群"],
    },
    "level_up_dm": {"name": "张伟", "level": "B", "level_name": "主管"},
    "menu": {"platform": "童趣优课", "brands": BRANDS},
    "error_fallback": {},
    "entry_application_rejected": {"name": "钱老师", "platform": "童趣优课", "reason": "群规模暂不符合"},
}
EXPECTED = {
    "earned_dm": "销售佣金：144.00 元",
    "clawback_dm": "-48.00 元（结算前取消）",
    "relay_line": "3. 李** 出单 星火思维秋季课 ×2",
    "relay_digest": "过去 1 分钟出单 312 单，前三名：李** 120 单、张** 80 单、王** 60 单",
    "red_packet_announcement": "库存降到 100 份及以下（现余 99 份）！",
    "red_packet_manager_dm": (
        "库存降到 100 份及以下（现余 99 份），群里已宣布红包。\n请在 星火思维推广1群、星火思维推广2群"
    ),
    "level_up_dm": "升级为 主管（B）",
    "menu": "发送“数学”",
    "error_fallback": "抱歉",
    "entry_application_rejected": "没有通过，原因：群规模暂不符合",
}

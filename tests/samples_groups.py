"""Sample data for the templates of brand groups: welcome, manager commands, relay pushes,
leaderboards and their poster, showcases (晒单)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
MONDAY = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)  # Monday 00:00 in Shanghai
BOARD = {
    "platform": "童趣优课",
    "brand": "星火思维",
    "period": "week",
    "metric": "amount",
    "since": MONDAY,
    "push": None,
    "rows": [
        {"rank": 1, "seller": "李**", "value": Decimal("1197.00")},
        {"rank": 2, "seller": "张**", "value": Decimal("399.00")},
        {"rank": 2, "seller": "王**", "value": Decimal("399.00")},
        {"rank": 4, "seller": "林**", "value": Decimal("9.90")},
    ],
    "now": NOW,
}
SAMPLES: dict[str, dict] = {
    "group_welcome": {"group": "星火思维推广1群", "brand": "星火思维", "count": 3, "mentioned": 3},
    "manager_only": {"command": "库存", "brand": "星火思维"},
    "stock_set": {"course": "星火思维秋季课", "sku": "XH-MATH-S1", "stock": 120, "next_threshold": 100},
    "stock_usage": {
        "brand": "星火思维",
        "unknown": "XH-NOPE",
        "courses": [
            {"sku": "XH-MATH-S1", "name": "星火思维秋季课", "stock": 300},
            {"sku": "XH-TRIAL", "name": "星火思维 0.1 元体验课", "stock": None},
        ],
    },
    "announcement": {"brand": "星火思维", "text": "今晚 8 点直播讲新课，不见不散！"},
    "announce_usage": {"brand": "星火思维"},
    "relay_started": {"brand": "星火思维", "title": "双十二冲刺"},
    "relay_already_open": {"title": "双十二冲刺", "started_at": NOW},
    "relay_not_open": {"brand": "星火思维"},
    "relay_final": {
        "brand": "星火思维",
        "title": "双十二冲刺",
        "total": 3,
        "page": 1,
        "pages": 1,
        "omitted": 0,
        "lines": [
            {"number": 1, "seller": "李娜", "course": "星火思维秋季课", "quantity": 1, "refunded": False},
            {"number": 2, "seller": "张伟", "course": "星火思维秋季课", "quantity": 2, "refunded": True},
            {"number": 3, "seller": "李娜", "course": "星火思维秋季课", "quantity": 1, "refunded": False},
        ],
    },
    "relay_top": {
        "title": "双十二冲刺",
        "orders": 3,
        "kings": [{"rank": 1, "seller": "李**", "value": Decimal("798.00")}],
        "rows": [
            {"rank": 1, "seller": "李**", "value": Decimal("798.00")},
            {"rank": 2, "seller": "张**", "value": Decimal("399.00")},
        ],
    },
    "leaderboard": BOARD,
    "leaderboard_poster": BOARD,
    "leaderboard_usage": {},
    "leaderboard_cooldown": {"seconds": 60},
    "showcase_recorded": {"seller": "李娜", "course": "星火思维秋季课", "quantity": 1},
    "showcase_refused": {"reason": "not_found", "brand": "星火思维", "order_id": "o-404", "minutes": 5},
    "showcase_manager_dm": {
        "brand": "星火思维",
        "seller": "李娜",
        "code": "DEMOC001",
        "group": "星火思维推广1群",
        "order_id": "o-1",
        "course": "星火思维秋季课",
        "quantity": 1,
        "paid": Decimal("399.00"),
    },
}
EXPECTED = {
    "group_welcome": "欢迎 3 位新朋友加入「星火思维推广1群」！",
    "manager_only": "“库存”是星火思维课程经理的指令",
    "stock_set": "库存已设为 120 份。\n下一个红包档：库存降到 100 份及以下时",
    "stock_usage": "没有找到课程“XH-NOPE”。",
    "announcement": "📢 星火思维公告\n今晚 8 点直播讲新课，不见不散！",
    "announce_usage": "公告 <内容>",
    "relay_started": "出单接龙开始啦：双十二冲刺！",
    "relay_already_open": "（双十二冲刺），11月25日 10:00 开始",
    "relay_not_open": "没有进行中的接龙",
    "relay_final": "结束，共 3 单\n1. 李** 星火思维秋季课 ×1\n2. 张** 星火思维秋季课 ×2（已退款）\n3. 李**",
    "relay_top": "本次接龙出单王（双十二冲刺）：李**，销售额 798.00 元！\n🥇 李**  798.00 元\n🥈 张**  399.00 元",
    "leaderboard": "🏆 星火思维 本周销售额榜（11月23日起）\n🥇 李**  1,197.00 元\n🥈 张**  399.00 元\n🥈 王**",
    "leaderboard_poster": "童趣优课\n星火思维·销售额排行榜\n本周 · 11月23日起\n",
    "leaderboard_usage": "排行榜 本周 单数",
    "leaderboard_cooldown": "这个榜单 60 秒内刚发过，往上翻翻就能看到～",
    "showcase_recorded": "收到 李** 的晒单：星火思维秋季课 ×1",
    "showcase_refused": "没有找到你在星火思维的订单 o-404，请核对订单号。",
    "showcase_manager_dm": "李娜（DEMOC001）在「星火思维推广1群」晒了订单 o-1（星火思维秋季课 ×1，399.00 元）",
}

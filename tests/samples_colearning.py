"""Sample data for the templates of co-learning (共学营): applying, ops deciding, and what the
enrolled groups see before, during and after a session."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

STARTS = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
ENDS = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
SESSION = {"session": "数学思维公开课", "starts_at": STARTS, "ends_at": ENDS, "course": "星火思维秋季课"}
APPLICANT = {"name": "李娜", "code": "DEMOC001", "topic": "李娜的宝妈群", "members": 180}

SAMPLES: dict[str, dict] = {
    "colearning_apply_steps": {"name": "李娜"},
    "colearning_not_distributor": {"platform": "童趣优课"},
    "colearning_received": APPLICANT,
    "colearning_ops_new": {**APPLICANT, "id": 7},
    "colearning_approved": {"name": "李娜", "topic": "李娜的宝妈群"},
    "colearning_rejected": {"name": "李娜", "topic": "李娜的宝妈群", "reason": "群里以广告为主"},
    "colearning_reminder": {**SESSION, "minutes": 60, "lead": "1 小时"},
    "colearning_started": SESSION,
    "colearning_relay": {"session": "数学思维公开课", "speaker": "王老师", "text": "今天讲鸡兔同笼"},
    "colearning_relay_image": {"session": "数学思维公开课", "speaker": "王老师"},
    "colearning_course_card": {**SESSION, "price": Decimal("399.00"), "keyword": "数学"},
    "colearning_ended": SESSION,
    "colearning_cancelled": {**SESSION, "reason": "老师临时生病"},
    "colearning_rescheduled": SESSION,
}
EXPECTED = {
    "colearning_apply_steps": "把小助手拉进你自己的家长群",
    "colearning_not_distributor": "你还不是分销员",
    "colearning_received": "群「李娜的宝妈群」，180 人",
    "colearning_ops_new": "distbot colearning approve 7",
    "colearning_approved": "通过了共学营审核",
    "colearning_rejected": "原因：群里以广告为主",
    "colearning_reminder": "《数学思维公开课》还有 1 小时开始（11月26日 20:00–21:00）",
    "colearning_started": "到 21:00 结束",
    "colearning_relay": "【数学思维公开课】王老师：今天讲鸡兔同笼",
    "colearning_relay_image": "【数学思维公开课】王老师：[图片]",
    "colearning_course_card": "价格：399.00 元",
    "colearning_ended": "今天就到这里",
    "colearning_cancelled": "11月26日 20:00 的共学营《数学思维公开课》取消了：老师临时生病",
    "colearning_rescheduled": "改到 11月26日 20:00–21:00",
}

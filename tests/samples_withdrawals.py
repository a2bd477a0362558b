"""Sample data of the withdrawal (提现) templates."""

from __future__ import annotations

from decimal import Decimal

SAMPLES: dict[str, dict] = {
    "withdrawal_status": {
        "name": "李娜",
        "available": Decimal("180.00"),
        "balance": Decimal("180.00"),
        "pending": Decimal("96.00"),
        "minimum": Decimal("50.00"),
        "open_amount": Decimal("0.00"),
        "blocked": "",
    },
    "withdrawal_refused": {
        "reason": "above_balance",
        "amount": Decimal("200.00"),
        "balance": Decimal("180.00"),
        "pending": Decimal("96.00"),
        "minimum": Decimal("50.00"),
        "open_amount": Decimal("0.00"),
    },
    "withdrawal_usage": {"minimum": Decimal("50.00")},
    "withdrawal_requested": {"name": "李娜", "amount": Decimal("150.00")},
    "withdrawal_approved": {"name": "李娜", "amount": Decimal("150.00"), "balance": Decimal("30.00")},
    "withdrawal_rejected": {"name": "李娜", "amount": Decimal("150.00"), "reason": "收款信息不完整"},
    "withdrawal_ops": {"name": "李娜", "code": "DEMOC001", "amount": Decimal("150.00"), "balance": Decimal("180.00")},
}

EXPECTED: dict[str, str] = {
    "withdrawal_status": "可提现 180.00 元（已结算余额 180.00 元；待结算 96.00 元要等退款期满结算后才能提现）",
    "withdrawal_refused": "申请提现 200.00 元未成功：\n超过了可提现的已结算余额 180.00 元（另有 96.00 元待结算",
    "withdrawal_usage": "最低 50.00 元",
    "withdrawal_requested": "已收到李娜的提现申请：150.00 元",
    "withdrawal_approved": "你的提现 150.00 元已审核通过并打款，当前余额 30.00 元",
    "withdrawal_rejected": "未通过审核：收款信息不完整。",
    "withdrawal_ops": "李娜（DEMOC001）申请提现 150.00 元，当前已结算余额 180.00 元",
}

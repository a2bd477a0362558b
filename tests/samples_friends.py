"""Sample data of the friend-request templates (ops hear of a request waiting for them)."""

from __future__ import annotations

SAMPLES: dict[str, dict] = {
    "friend_request_ops": {"name": "陈静", "contact": "wx-chenjing", "hello": "你好，我想了解一下分销"},
}

EXPECTED: dict[str, str] = {
    "friend_request_ops": "新的好友申请：陈静（wx-chenjing），验证消息“你好，我想了解一下分销”，等待处理",
}

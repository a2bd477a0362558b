"""Sample data of the group-moderation templates."""

from __future__ import annotations

STRIKE = {"name": "小广告", "rule": "发布链接", "strikes": 1, "allowed": 3, "group": "星火思维推广1群"}

SAMPLES: dict[str, dict] = {
    "moderation_warning": STRIKE,
    "moderation_removed": STRIKE | {"strikes": 3, "case": 7},
    "moderation_removed_dm": STRIKE | {"strikes": 3, "case": 7},
    "moderation_remove_ops": STRIKE | {"strikes": 3, "case": 7, "contact": "wx-ad"},
    "moderation_appeal_ops": {"name": "小广告", "group": "星火思维推广1群", "appeal": "我发的是学校通知", "case": 7},
    "moderation_appeal_received": {"group": "星火思维推广1群"},
    "moderation_appeal_none": {},
    "moderation_undone": {"name": "小广告", "group": "星火思维推广1群"},
    "moderation_upheld": {"name": "小广告", "group": "星火思维推广1群", "note": "链接是其他机构的课程广告"},
}

EXPECTED: dict[str, str] = {
    "moderation_warning": "⚠️ 请遵守群规：本群禁止发布链接。这是你在本品牌群的第 1 次违规，累计 3 次将被移出群聊",
    "moderation_removed": "小广告 多次违反群规（发布链接，3/3 次），已被移出「星火思维推广1群」",
    "moderation_removed_dm": "请回复“申诉 原因”",
    "moderation_remove_ops": "请把 小广告（wx-ad）移出「星火思维推广1群」",
    "moderation_appeal_ops": "小广告 对被移出「星火思维推广1群」提出申诉：“我发的是学校通知”",
    "moderation_appeal_received": "已收到你对被移出「星火思维推广1群」的申诉",
    "moderation_appeal_none": "没有找到需要申诉的记录",
    "moderation_undone": "违规记录已清除，已重新邀请你进群",
    "moderation_upheld": "维持移出。原因：链接是其他机构的课程广告",
}

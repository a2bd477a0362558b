"""Sample data of the WeCom transport's texts: the welcome sent through send_welcome_msg,
the brand's join code, the count closing a digest too long to list every line."""

from __future__ import annotations

SAMPLES: dict[str, dict] = {
    "wecom_welcome": {"platform": "童趣优课", "code": "DEMOC001", "kf_url": "https://work.weixin.qq.com/kfid/wkDEMO"},
    "group_join_code": {"brand": "星火思维", "url": "https://wework.qpic.cn/fake/join/jw000001FAKE.png"},
    "digest_more": {"count": 57},
}

EXPECTED: dict[str, str] = {
    "wecom_welcome": "欢迎来到童趣优课！\n你是通过推荐码 DEMOC001 加的小助手，推荐人已为你记下。\n"
    "查收益、要推广群、问问题，请在这里找小助手：https://work.weixin.qq.com/kfid/wkDEMO",
    "group_join_code": "星火思维推广群：扫码或点开链接就能进群\nhttps://wework.qpic.cn/fake/join/jw000001FAKE.png\n"
    "群满了会自动开新群，随时都能扫。",
    "digest_more": "……还有 57 条未逐条列出",
}

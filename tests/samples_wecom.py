"""Sample data of the WeCom transport's texts: the welcome sent through send_welcome_msg."""

from __future__ import annotations

SAMPLES: dict[str, dict] = {
    "wecom_welcome": {"platform": "童趣优课", "code": "DEMOC001", "kf_url": "https://work.weixin.qq.com/kfid/wkDEMO"},
}

EXPECTED: dict[str, str] = {
    "wecom_welcome": "欢迎来到童趣优课！\n你是通过推荐码 DEMOC001 加的小助手，推荐人已为你记下。\n"
    "查收益、要推广群、问问题，请在这里找小助手：https://work.weixin.qq.com/kfid/wkDEMO",
}

"""``transport.kind: wecom``: built from its settings by the registry, declaring what WeCom allows,
and refusing the shipped demo secrets on any address but loopback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.base.startup import StartupError, refuse_demo_secrets
from bot.base.transport import PostCap, PrivateWindow
from bot.transports import registry
from bot.transports.wecom_transport import WeComTransport
from tests.support import edited_settings

OWN = {"DISTBOT_WEBHOOK_SECRET": "own-webhook-5c1d", "DISTBOT_ADMIN_TOKEN": "own-admin-9a7e"}


def _setup(*replacements: tuple[str, str]) -> registry.Setup:
    settings = edited_settings(("kind: sim", "kind: wecom"), *replacements)
    return registry.Setup(settings, lambda: datetime(2026, 11, 25, tzinfo=UTC), "http://127.0.0.1:8080")


def test_the_wecom_kind_builds_a_transport_declaring_what_wecom_allows() -> None:
    transport = registry.find("wecom").build(_setup(("cap: month_days", "cap: week_7")))

    assert isinstance(transport, WeComTransport)
    caps = transport.capabilities
    assert caps.join_codes and caps.contact_codes and caps.group_posts_need_confirmation
    assert caps.direct_add_limit == 0 and not caps.friend_requests and not caps.create_rooms
    assert caps.group_post_cap == PostCap("week", 7)
    assert caps.private_window == PrivateWindow(48, 5)
    assert [r.path for r in transport.web_routes()] == ["/wecom/callback", "/wecom/callback"]  # type: ignore[attr-defined]
    assert "/wecom/callback" in transport.banner("http://127.0.0.1:8080")


def test_the_demo_wecom_secrets_are_refused_beyond_loopback_until_each_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in OWN.items():
        monkeypatch.setenv(name, value)
    settings = _setup().settings

    with pytest.raises(StartupError, match=r"transport\.wecom\.secret \(DISTBOT_WECOM_SECRET\)"):
        refuse_demo_secrets(settings, "0.0.0.0")
    refuse_demo_secrets(settings, "127.0.0.1")
    monkeypatch.setenv("DISTBOT_WECOM_SECRET", "app-secret-of-our-own")
    monkeypatch.setenv("DISTBOT_WECOM_TOKEN", "tokenOfOurOwn")
    with pytest.raises(StartupError, match=r"transport\.wecom\.aes_key"):
        refuse_demo_secrets(settings, "0.0.0.0")
    monkeypatch.setenv("DISTBOT_WECOM_AES_KEY", "ownAesKey" + "0" * 34)
    refuse_demo_secrets(settings, "0.0.0.0")


def test_an_encoding_aes_key_that_is_not_wecoms_stops_the_start_saying_where(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISTBOT_WECOM_AES_KEY", "too-short")
    with pytest.raises(StartupError, match=r"transport\.wecom"):
        registry.find("wecom").build(_setup())

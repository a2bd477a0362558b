"""The bot asks a transport what it can do, never what it is called: handlers branch on its
declared capabilities, the composition root takes its web routes and its pace from it, and
the kind in the configuration is chosen from the registry of transports."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import web_app
from bot.base.config import ConfigError, OutboxSettings, RateLimits, load_settings
from bot.base.transport import PostCap, PrivateWindow
from bot.cli import main
from bot.transports.sim import SimTransport
from bot.transports.wechaty_adapter import WechatyTransport
from tests.dm_support import RoomMakingTransport, dm, outbox, run, texts_to
from tests.fakes import FAKE, FakeTransport
from tests.process_support import free_port, write_config
from tests.support import ROOT, demo_settings
from tests.test_dm_capabilities import set_members

# --- handlers branch on capabilities ------------------------------------------------------------


async def test_where_nobody_can_be_added_directly_a_brand_keyword_gets_an_invitation_even_to_a_small_group(services):
    invitations_only = FakeTransport(capabilities=replace(FAKE, direct_add_limit=0))

    await run(services, dm("wx-lina", "数学"), transport=invitations_only)

    [invite, reply] = await outbox(services)
    assert (invite.kind, invite.target, invite.payload) == ("room_invite", "wx-lina", {"room": "room-xinghuo-1"})
    assert "「星火思维推广1群」的入群邀请马上发给你" in reply.text


async def test_a_transport_that_does_not_declare_room_creation_is_not_asked_to_create_one(services):
    await set_members(services, room_xinghuo_1=450, room_xinghuo_2=480)
    undeclared = RoomMakingTransport(capabilities=FAKE)  # it has the method, not the capability

    await run(services, dm("wx-lina", "数学"), transport=undeclared)

    assert undeclared.created == []
    rows = await outbox(services)
    assert texts_to(rows, "ops-xiaomei")[0].startswith("⚠️ 星火思维（xinghuo）的推广群都满了")
    assert "请在 11:00 之后再发送“数学”" in texts_to(rows, "wx-lina")[0]


# --- what a transport contributes to the process ------------------------------------------------


async def test_the_simulator_contributes_its_pages_and_a_transport_merely_named_sim_contributes_none(
    services, tmp_path: Path
):
    sim = SimTransport.from_settings(services.settings, tmp_path / "world.jsonl")
    impostor = FakeTransport(name="sim")
    for transport, expected in ((sim, 200), (impostor, 404)):
        client = TestClient(TestServer(web_app(services, transport), host="127.0.0.1"))
        await client.start_server()
        try:
            assert (await client.get("/sim/contacts")).status == expected
        finally:
            await client.close()
    sim.world.close()


def test_each_transport_chooses_its_pace_from_the_configured_ones(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("WECHATY_PUPPET_SERVICE_ENDPOINT", raising=False)
    slow = RateLimits(account_interval_seconds=Decimal(9), room_interval_seconds=Decimal(20), jitter_seconds=Decimal(3))
    fast = RateLimits(account_interval_seconds=Decimal(0), room_interval_seconds=Decimal(0), jitter_seconds=Decimal(0))
    outbox = OutboxSettings(limits=slow, sim_limits=fast)
    sim = SimTransport.from_settings(demo_settings(), tmp_path / "world.jsonl")
    wechaty = WechatyTransport("127.0.0.1:9", "token")

    assert sim.rate_limits(outbox) == fast  # in process: nobody's account at stake
    assert wechaty.rate_limits(outbox) == slow
    assert FakeTransport(name="sim").rate_limits(outbox) == slow
    sim.world.close()


# --- the registry chooses the transport ---------------------------------------------------------


def test_a_transport_kind_nobody_registered_is_refused_with_its_line_and_the_kinds_there_are(tmp_path: Path):
    path = tmp_path / "config.yaml"
    path.write_text((ROOT / "config.yaml").read_text(encoding="utf-8").replace("  kind: sim\n", "  kind: wechat\n"))

    with pytest.raises(ConfigError) as refused:
        load_settings(path, transport_kinds=("sim", "wechaty"))

    [problem] = refused.value.describe()
    assert problem.endswith("config.yaml:177: transport.kind: no transport 'wechat' here: one of sim, wechaty")


def test_distbot_run_refuses_a_transport_kind_it_does_not_have_before_touching_anything(tmp_path, capsys):
    config = write_config(tmp_path, ("  kind: sim\n", "  kind: wecom\n"))

    code = main(["run", "--config", str(config), "--port", str(free_port())])

    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert any("transport.kind" in line and "no transport 'wecom' here: one of sim, wechaty" in line for line in lines)
    assert not (tmp_path / "bot.db").exists()


def test_an_unknown_distbot_transport_is_refused_in_one_line_naming_the_transports(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DISTBOT_TRANSPORT", "wecom")

    code = main(["run", "--config", str(write_config(tmp_path)), "--port", str(free_port())])

    assert code == 1
    assert capsys.readouterr().err == "error: no transport 'wecom' (DISTBOT_TRANSPORT): one of sim, wechaty\n"
    assert not (tmp_path / "bot.db").exists()


# --- the shapes WeCom's limits are declared in --------------------------------------------------


def test_a_monthly_cap_that_follows_the_month_allows_as_many_posts_as_the_month_has_days():
    month = PostCap("month")
    assert [month.allowed(date(2026, m, 10)) for m in (2, 4, 12)] == [28, 30, 31]
    assert month.allowed(date(2028, 2, 29)) == 29
    assert PostCap("week", 7).allowed(date(2026, 2, 10)) == 7
    assert PostCap("day", 1).allowed(date(2026, 2, 10)) == 1
    with pytest.raises(ValueError, match="month's length"):
        PostCap("week")
    assert PrivateWindow(hours=48, messages=5).messages == 5

"""The simulator has no login, so it refuses what another web page could make the operator's
browser send (a cross-site post acting as a manager), answers only at loopback names while it
listens on loopback, and ``distbot run`` will not expose it beyond loopback unless asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

import handlers
from bot.app import exposure_refusal, web_app
from bot.cli import main
from bot.runtime.dispatch import Dispatcher
from bot.transports.sim import SimTransport
from bot.transports.sim_guard import is_loopback
from models import Course
from tests.support import ROOT

STOCK_TO_SEVEN = '{"from": "mgr-zhaolin", "room": "room-xinghuo-1", "text": "库存 XH-MATH-S1 7"}'


class Running:
    def __init__(self, client: TestClient, transport: SimTransport, services):
        self.client, self.transport, self.services = client, transport, services

    async def post(self, body: str, headers: dict[str, str]) -> int:
        response = await self.client.post("/sim/messages", data=body.encode(), headers=headers)
        await self.transport.idle()
        return response.status

    async def stock(self) -> int:
        async with self.services.db.reading() as session:
            return int(await session.scalar(select(Course.stock).where(Course.sku == "XH-MATH-S1")))


@pytest.fixture
async def running(services, tmp_path: Path) -> AsyncIterator[Running]:
    """The whole app (bot, webhooks, console, /sim) on 127.0.0.1, the bot answering."""
    transport = SimTransport.from_settings(services.settings, tmp_path / "world.jsonl")
    dispatcher = Dispatcher(services, handlers.ROUTERS, transport)
    dispatcher.start()
    await transport.start(dispatcher.submit)
    client = TestClient(TestServer(web_app(services, transport), host="127.0.0.1"))
    await client.start_server()
    try:
        yield Running(client, transport, services)
    finally:
        await client.close()
        await transport.stop()
        await dispatcher.stop()


async def test_a_cross_site_text_plain_post_cannot_set_a_courses_stock_as_its_manager(running: Running) -> None:
    before = await running.stock()
    forged = {"Content-Type": "text/plain;charset=UTF-8", "Origin": "http://evil.example"}

    assert await running.post(STOCK_TO_SEVEN, forged) == 403
    assert await running.post(STOCK_TO_SEVEN, {"Content-Type": "text/plain"}) == 403  # no JSON, no action
    assert await running.stock() == before
    assert running.transport.world.room("room-xinghuo-1").messages == []

    own = {"Content-Type": "application/json", "Origin": str(running.client.make_url("")).rstrip("/")}
    assert await running.post(STOCK_TO_SEVEN, own) == 202  # the page itself still works
    assert await running.stock() == 7


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
async def test_a_json_post_from_another_site_is_refused_with_the_reason(running: Running, headers) -> None:
    response = await running.client.post(
        "/sim/friendships", json={"from": "wx-x", "name": "来路不明", "hello": "你好"}, headers=headers
    )
    assert response.status == 403
    assert (await response.json())["reason"].startswith("the simulator takes no")
    assert "wx-x" not in running.transport.world.contacts


async def test_a_hostile_name_pointed_at_loopback_cannot_read_or_drive_the_simulator(running: Running) -> None:
    rebound = {"Host": f"evil.example:{running.client.port}"}
    assert (await running.client.get("/sim/contacts", headers=rebound)).status == 403
    assert (await running.client.get("/sim", headers=rebound)).status == 403
    assert (
        await running.client.get("/sim/contacts", headers={"Host": f"localhost:{running.client.port}"})
    ).status == 200


def test_distbot_run_refuses_to_expose_the_simulator_beyond_loopback_in_one_line(capsys, monkeypatch, tmp_path) -> None:
    # Were the refusal missing, the run would still end: no port 70000 can be listened on.
    monkeypatch.setenv("DISTBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'run.db'}")
    monkeypatch.delenv("DISTBOT_TRANSPORT", raising=False)
    code = main(["run", "--config", str(ROOT / "config.yaml"), "--host", "0.0.0.0", "--port", "70000"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: the WeChat simulator has no login")
    assert "--allow-remote-sim" in err
    assert not (tmp_path / "run.db").exists()  # refused before anything was touched


def test_only_the_simulator_beyond_loopback_without_the_flag_is_refused() -> None:
    assert exposure_refusal("sim", "0.0.0.0", allow_remote_sim=False) is not None
    assert exposure_refusal("sim", "192.168.1.5", allow_remote_sim=False) is not None
    assert exposure_refusal("sim", "0.0.0.0", allow_remote_sim=True) is None
    assert exposure_refusal("wechaty", "0.0.0.0", allow_remote_sim=False) is None
    assert [is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.8.0.1", "0.0.0.0", "")] == [
        True, True, True, True, True, False, False,
    ]  # fmt: skip

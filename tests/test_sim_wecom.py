"""The simulator's WeCom flavour (``transport.sim.flavour: wecom``): group posts wait for the
operator's confirmation on /sim/wecom and stop at the month's cap, nobody is added, private
messages keep 微信客服's 48-hour window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.base.context import FixedClock
from bot.base.transport import NeedInvite, OutsideWindow, PostState
from bot.transports import registry
from bot.transports.sim import SimWorld
from bot.transports.sim_wecom import SimWeComTransport
from tests.support import edited_settings
from tests.wechaty.support import Sink

START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
def sim(tmp_path) -> Iterator[SimWeComTransport]:
    clock = FixedClock(START)
    world = SimWorld("helper", tmp_path / "world.jsonl", clock=clock.now)
    world.add_contact("c1", "王妈妈")
    world.befriend("c1")
    world.ensure_room("room-xh", "小熊数学推广群", ["helper", "c1"])
    transport = SimWeComTransport(world)
    transport.clock = clock  # type: ignore[attr-defined]  # the test moves it
    yield transport
    world.close()


def posts_in(sim: SimWeComTransport, room: str) -> list[str]:
    return [m["text"] for m in sim.world.room(room).messages if m["from"] == "helper"]


async def test_a_group_post_waits_for_confirmation_and_the_months_cap_refuses_the_rest(sim):
    first = await sim.send_text("room-xh", "今日接龙", room=True)
    assert posts_in(sim, "room-xh") == []
    assert await sim.post_states(first, ["room-xh"]) == {"room-xh": PostState.PROPOSED}

    assert sim.confirm(first) is PostState.SENT
    assert posts_in(sim, "room-xh") == ["今日接龙"]
    for n in range(29):  # November has 30 days: 30 group messages a group
        sim.confirm(await sim.send_text("room-xh", f"第{n + 2}条", room=True))
    over = await sim.send_text("room-xh", "第31条", room=True)

    assert sim.confirm(over) is PostState.CAPPED and len(posts_in(sim, "room-xh")) == 30
    with pytest.raises(NeedInvite):
        await sim.add_to_room("room-xh", "c2")


async def test_private_messages_keep_the_48_hour_window_and_five_answers_a_message(sim):
    await sim.start(Sink())
    with pytest.raises(OutsideWindow):
        await sim.send_text("c1", "你好", room=False)
    sim.deliver(sim.world.message_event(sim.world.say("c1", "收益")))
    for n in range(5):
        await sim.send_text("c1", f"第{n + 1}条", room=False)
    with pytest.raises(OutsideWindow):
        await sim.send_text("c1", "第6条", room=False)
    sim.deliver(sim.world.message_event(sim.world.say("c1", "在吗")))
    sim.clock.advance(hours=48)
    with pytest.raises(OutsideWindow):
        await sim.send_text("c1", "晚了", room=False)
    await sim.stop()


async def test_the_operator_confirms_a_proposed_post_on_the_sim_page(sim):
    task = await sim.send_text("room-xh", "排行榜", room=True)
    app = web.Application()
    app.add_routes(sim.web_routes())  # type: ignore[arg-type]
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        page = await (await client.get("/sim/wecom")).text()
        assert "小熊数学推广群" in page and f"/sim/wecom/tasks/{task}/confirm" in page and "待确认" in page
        confirmed = await client.post(f"/sim/wecom/tasks/{task}/confirm")
        assert "已发送" in await confirmed.text()
    finally:
        await client.close()
    assert posts_in(sim, "room-xh") == ["排行榜"]


def test_the_wecom_flavour_is_chosen_by_configuration(tmp_path):
    settings = edited_settings(("flavour: wechat", "flavour: wecom"),
                               ("sim_journal: sim-world.jsonl", f"sim_journal: {tmp_path / 'world.jsonl'}"))
    setup = registry.Setup(settings, lambda: START + timedelta(0), "http://127.0.0.1:8080")
    transport = registry.find("sim").build(setup)
    assert isinstance(transport, SimWeComTransport)
    assert transport.capabilities.group_posts_need_confirmation and transport.capabilities.join_codes
    transport.world.close()

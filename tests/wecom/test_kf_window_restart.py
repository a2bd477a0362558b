"""微信客服's window outlives a restart: a new transport on the same database still answers a
customer inside their 48 hours, counts the answers sent before the restart against the 5, and
holds what comes after the window closed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.base.context import FixedClock
from bot.base.env import Env
from bot.base.kf_windows import DbWindows, MemoryWindows
from bot.base.transport import Message, OutsideWindow, TransportError
from bot.transports.wecom_windows import KfWindows
from core.kf_window import Limits, Window
from tests.wecom.fake_server import FakeWeCom
from tests.wecom.transport_support import HELPER, KF_NAME, transport_on


@pytest.fixture
async def fake(clock: FixedClock) -> AsyncIterator[FakeWeCom]:
    server = FakeWeCom(clock, callback_timeout=2.0)
    await server.start()
    server.contacts.add_staff(HELPER, "小助手")
    server.kf.add_account(KF_NAME)
    yield server
    await server.stop()


def windows(fake: FakeWeCom, services: Env) -> DbWindows:
    return DbWindows(services.db, next(iter(fake.kf.accounts)))  # a new store: nothing kept in memory


async def customer_writes_and_gets_two_answers(fake: FakeWeCom, services: Env, clock: FixedClock,
                                               tmp_path: Path) -> str:
    customer = fake.contacts.add_customer("王妈妈")
    async with transport_on(fake, clock, tmp_path, windows=windows(fake, services)) as w:
        await fake.kf.customer_says(w.open_kfid, customer, "收益")
        await w.sink.first(Message)
        for n in (1, 2):
            await w.transport.send_text(customer, f"第{n}条", room=False)
    return customer


async def test_after_a_restart_inside_the_window_answers_still_go_and_the_count_of_five_holds(
    fake: FakeWeCom, services: Env, clock: FixedClock, tmp_path: Path
) -> None:
    customer = await customer_writes_and_gets_two_answers(fake, services, clock, tmp_path)
    clock.advance(hours=47)

    async with transport_on(fake, clock, tmp_path, windows=windows(fake, services)) as w:
        assert w.transport.status().detail["open_windows"] == 1
        for n in (3, 4, 5):
            await w.transport.send_text(customer, f"第{n}条", room=False)
        with pytest.raises(OutsideWindow, match="5 messages already sent"):
            await w.transport.send_text(customer, "第6条", room=False)

    assert fake.kf.received(customer) == [f"第{n}条" for n in range(1, 6)]


async def test_after_a_restart_outside_the_window_the_answer_is_held(
    fake: FakeWeCom, services: Env, clock: FixedClock, tmp_path: Path
) -> None:
    customer = await customer_writes_and_gets_two_answers(fake, services, clock, tmp_path)
    clock.advance(hours=48, seconds=1)

    async with transport_on(fake, clock, tmp_path, windows=windows(fake, services)) as w:
        assert w.transport.status().detail["open_windows"] == 0
        with pytest.raises(OutsideWindow, match="48 hours"):
            await w.transport.send_text(customer, "第3条", room=False)

    assert fake.kf.received(customer) == ["第1条", "第2条"]


async def test_a_customer_writing_after_the_restart_opens_a_fresh_window_of_five(
    fake: FakeWeCom, services: Env, clock: FixedClock, tmp_path: Path
) -> None:
    customer = await customer_writes_and_gets_two_answers(fake, services, clock, tmp_path)
    clock.advance(hours=1)

    async with transport_on(fake, clock, tmp_path, windows=windows(fake, services)) as w:
        await fake.kf.customer_says(w.open_kfid, customer, "还有吗")
        assert (await w.sink.first(Message)).text == "还有吗"  # the first message is not fetched again
        for n in range(5):
            await w.transport.send_text(customer, f"再{n + 1}", room=False)
        with pytest.raises(OutsideWindow):
            await w.transport.send_text(customer, "再6", room=False)

    assert len(fake.kf.received(customer)) == 7


class BrokenStore(MemoryWindows):
    """A database that is down: nothing is written or read."""

    async def since(self, at: datetime) -> dict[str, Window]:
        raise OSError("the database is down")

    async def find(self, person: str) -> Window | None:
        raise OSError("the database is down")

    async def save(self, person: str, window: Window) -> None:
        raise OSError("the database is down")


async def test_with_the_database_down_a_customers_message_still_arrives_and_is_answered_from_memory(
    fake: FakeWeCom, clock: FixedClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    customer = fake.contacts.add_customer("王妈妈")
    async with transport_on(fake, clock, tmp_path, windows=BrokenStore()) as w:
        with pytest.raises(TransportError):  # never wrote, and the window cannot be looked up: tried again later
            await w.transport.send_text(customer, "你好", room=False)
        await fake.kf.customer_says(w.open_kfid, customer, "收益")
        assert (await w.sink.first(Message)).text == "收益"
        await w.transport.send_text(customer, "本月收益 144.00 元", room=False)

    assert fake.kf.received(customer) == ["本月收益 144.00 元"]
    assert "could not be saved" in caplog.text


async def test_in_a_fleet_the_sender_sees_a_newer_message_another_process_took_in() -> None:
    store, now = MemoryWindows(), datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    sender = KfWindows(store, Limits(48, 5), lambda: now)
    receiver = KfWindows(store, Limits(48, 5), lambda: now)  # the process a callback landed on
    await receiver.opened("wm-lina", now - timedelta(hours=1))
    window = await sender.check("wm-lina")
    for _ in range(5):
        window = await sender.spent("wm-lina", window)
    with pytest.raises(OutsideWindow):
        await sender.check("wm-lina")

    await receiver.opened("wm-lina", now)  # she writes again; the callback reaches the other process
    assert (await sender.check("wm-lina")).sent == 0  # a fresh five, though the sender knew the old window

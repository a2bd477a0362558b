"""The outbox sender: pace, coalescing, retries, dead letters and recovery after a crash."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, update

from bot.base.config import RateLimits
from bot.base.transport import TransportError, UnknownTarget
from bot.runtime.sender import OutboxSender
from models import OutboxMessage
from tests.fakes import FakeTransport
from tests.support import START


class FakeTime:
    """Monotonic time that only moves when the sender sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def queue(services, *rows: dict) -> None:
    async with services.db.unit_of_work() as session:
        for row in rows:
            session.add(
                OutboxMessage(
                    account="helper",
                    kind=row.get("kind", "text"),
                    target=row["target"],
                    target_is_room=row.get("room", False),
                    template="t",
                    text=row.get("text", "hi"),
                    payload=row.get("payload", {}),
                    coalesce_key=row.get("key"),
                    priority=row.get("priority", 3),
                    created_at=START,
                    not_before=START,
                )
            )


def sender_for(services, transport, time=None, **limits) -> OutboxSender:
    time = time or FakeTime()
    defaults = {"account_interval_seconds": Decimal(3), "room_interval_seconds": Decimal(8), "jitter_seconds": 0}
    return OutboxSender(
        services,
        transport,
        RateLimits(**{**defaults, **limits}),
        rng=random.Random(1),
        monotonic=time.monotonic,
        sleep=time.sleep,
    )


async def drain(sender: OutboxSender, limit: int = 100) -> None:
    """Send until nothing is due, waiting out room intervals on the fake clock."""
    for _ in range(limit):
        wait = await sender.send_next()
        if wait is None:
            return
        if wait:
            await sender.sleep(wait)


async def statuses(services) -> dict[int, str]:
    async with services.db.reading() as session:
        return dict((await session.execute(select(OutboxMessage.id, OutboxMessage.status))).all())


async def test_messages_go_out_in_order_at_least_the_account_interval_apart(services):
    await queue(services, {"target": "a", "text": "1"}, {"target": "b", "text": "2"}, {"target": "c", "text": "3"})
    transport, time = FakeTransport(), FakeTime()
    sender = sender_for(services, transport, time)

    await drain(sender)

    assert [s.text for s in transport.sent] == ["1", "2", "3"]
    assert time.slept == [3.0, 3.0]
    assert set((await statuses(services)).values()) == {"sent"}


async def test_a_room_waits_its_own_longer_interval_while_dms_go_ahead(services):
    await queue(
        services,
        {"target": "room-1", "room": True, "text": "r1"},
        {"target": "room-1", "room": True, "text": "r2"},
        {"target": "a", "text": "dm"},
    )
    transport, time = FakeTransport(), FakeTime()
    sender = sender_for(services, transport, time)

    await drain(sender)

    assert [s.text for s in transport.sent] == ["r1", "dm", "r2"]
    assert sum(time.slept) >= 8.0


async def test_relay_lines_queued_for_one_room_go_out_as_one_message(services):
    lines = [{"target": "room-1", "room": True, "text": f"{i}. 李** 出单", "key": "relay:room-1"} for i in range(1, 6)]
    await queue(services, *lines)
    transport = FakeTransport()

    await drain(sender_for(services, transport))

    assert [s.text for s in transport.sent] == ["\n".join(f"{i}. 李** 出单" for i in range(1, 6))]
    assert transport.sent[0].ref == "1,2,3,4,5"


async def test_a_transport_error_is_retried_later_and_gives_up_after_max_attempts(services):
    await queue(services, {"target": "a"})
    transport = FakeTransport(fail_next=[TransportError("network")] * 5)
    sender = sender_for(services, transport)

    for attempt in range(5):
        await sender.send_next()
        async with services.db.reading() as session:
            row = await session.scalar(select(OutboxMessage))
        if attempt < 4:
            assert (row.status, row.attempts) == ("queued", attempt + 1)
            assert row.not_before >= START + timedelta(seconds=5 * 2**attempt)
            services.clock.at = row.not_before
    assert (row.status, row.attempts, row.last_error) == ("dead", 5, "network")
    assert transport.sent == []


async def test_an_error_that_cannot_succeed_is_dead_lettered_at_once(services):
    await queue(services, {"target": "nobody"})
    sender = sender_for(services, FakeTransport(fail_next=[UnknownTarget("no such contact")]))

    await sender.send_next()

    assert list((await statuses(services)).values()) == ["dead"]


async def test_a_message_left_sending_by_a_crash_is_sent_again_after_restart(services):
    await queue(services, {"target": "a", "text": "in flight"}, {"target": "b", "text": "queued"})
    async with services.db.unit_of_work() as session:
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == 1).values(status="sending"))
    transport = FakeTransport()
    sender = sender_for(services, transport)

    assert await sender.recover() == 1
    await drain(sender)

    assert [s.text for s in transport.sent] == ["in flight", "queued"]


async def test_a_room_add_refused_for_a_big_room_becomes_an_invitation(services):
    await queue(services, {"kind": "room_add", "target": "wx-new", "payload": {"room": "room-1"}})
    transport = FakeTransport(members={"room-1": [f"m{i}" for i in range(41)]})

    await drain(sender_for(services, transport))

    assert [(s.kind, s.target, s.text) for s in transport.sent] == [("room_invite", "wx-new", "room-1")]


async def test_rows_of_another_helper_account_are_left_to_its_own_process(services):
    await queue(services, {"target": "a"})
    async with services.db.unit_of_work() as session:
        await session.execute(update(OutboxMessage).values(account="helper-2"))
    transport = FakeTransport()

    await drain(sender_for(services, transport))

    assert transport.sent == []


async def test_group_posts_go_before_dms_queued_earlier(services):
    await queue(
        services,
        *({"target": f"wx-{i}", "text": f"dm {i}"} for i in range(3)),
        {"target": "room-1", "room": True, "text": "1. 李** 出单", "key": "relay:room-1"},
    )
    transport = FakeTransport()

    await drain(sender_for(services, transport))

    assert [s.text for s in transport.sent] == ["1. 李** 出单", "dm 0", "dm 1", "dm 2"]


async def test_several_earned_dms_to_one_person_arrive_as_one_message_with_blank_lines_between(services):
    dm = "🎉 你有一笔新收益\n销售佣金：144.00 元"
    await queue(services, *({"target": "wx-lina", "text": dm, "key": "earned:wx-lina"} for _ in range(3)))
    transport = FakeTransport()

    await drain(sender_for(services, transport))

    assert [s.text for s in transport.sent] == ["\n\n".join([dm] * 3)]


async def test_a_row_rewritten_while_the_sender_waits_out_the_pace_is_sent_as_rewritten(services):
    await queue(services, {"target": "room-1", "room": True, "text": "欢迎 @甲"})
    transport, time = FakeTransport(), FakeTime()
    sender = sender_for(services, transport, time)
    sender.account_ready = time.now + 3  # the previous message went out a moment ago

    async def sleep_while_someone_joins(seconds: float) -> None:
        async with services.db.unit_of_work() as session:
            await session.execute(update(OutboxMessage).values(text="欢迎 @甲 @乙"))
        await time.sleep(seconds)

    sender.sleep = sleep_while_someone_joins
    await sender.send_next()

    assert [s.text for s in transport.sent] == ["欢迎 @甲 @乙"]


async def test_a_dm_behind_a_long_backlog_of_waiting_group_posts_still_goes_out(services):
    await queue(services, *({"target": "room-1", "room": True, "text": f"{i}. 李** 出单"} for i in range(250)))
    await queue(services, {"target": "wx-lina", "text": "收益"})
    transport, time = FakeTransport(), FakeTime()
    sender = sender_for(services, transport, time)

    await sender.send_next()  # the first group post; the room now waits 8 s
    time.now = sender.account_ready  # the account may send again, the room not yet
    await sender.send_next()

    assert [s.target for s in transport.sent] == ["room-1", "wx-lina"]


async def test_a_room_never_waits_behind_another_rooms_backlog_waiting_its_turn(services):
    # 250 posts for room-1 come first in the queue; room-2's one post comes after all of them
    await queue(services, *({"target": "room-1", "room": True, "text": f"{i}. 李** 出单"} for i in range(250)))
    await queue(services, {"target": "room-2", "room": True, "text": "🧧 红包"})
    transport, time = FakeTransport(), FakeTime()
    sender = sender_for(services, transport, time)

    await sender.send_next()  # room-1's first post; room-1 now waits 8 s
    time.now = sender.account_ready  # the account may send again, room-1 not yet
    await sender.send_next()

    assert [(s.target, s.text) for s in transport.sent] == [("room-1", "0. 李** 出单"), ("room-2", "🧧 红包")]


async def test_a_room_add_waits_for_its_rooms_turn_while_another_rooms_post_goes(services):
    await queue(
        services,
        {"target": "room-1", "room": True, "text": "r1", "priority": 0},
        {"target": "wx-lina", "kind": "room_add", "payload": {"room": "room-1"}, "priority": 2},
        {"target": "room-2", "room": True, "text": "r2", "priority": 3},
    )
    transport, time = FakeTransport(), FakeTime()
    sender = sender_for(services, transport, time)

    await sender.send_next()
    time.now = sender.account_ready  # room-1 (and so its room add) waits its turn
    await sender.send_next()

    assert [s.kind for s in transport.sent] == ["text", "text"]
    assert [s.target for s in transport.sent] == ["room-1", "room-2"]


async def test_nothing_due_means_the_sender_says_so_even_while_a_room_waits_its_turn(services):
    await queue(services, {"target": "room-1", "room": True, "text": "r1"})
    transport, time = FakeTransport(), FakeTime()
    sender = sender_for(services, transport, time)

    assert await sender.send_next() == 0.0
    assert await sender.send_next() is None


def relay_lines(numbers: range, room: str = "room-1") -> list[dict]:
    seller = {"seller": "李娜", "course": "星火思维秋季课", "quantity": 1}
    return [
        {
            "target": room,
            "room": True,
            "text": f"{n}. 李** 出单",
            "key": f"relay:{room}",
            "priority": 0,
            "payload": {"line": {**seller, "number": n}},
        }
        for n in numbers
    ]


async def test_a_burst_of_relay_lines_goes_out_as_one_digest_then_the_red_packet_it_triggered_then_later_lines(
    services,
):
    await queue(services, *relay_lines(range(1, 51)))
    await queue(services, {"target": "room-1", "room": True, "text": "🧧 红包", "priority": 0})
    await queue(services, *relay_lines(range(51, 54)))
    transport = FakeTransport()

    await drain(sender_for(services, transport))

    digest, red_packet, later = (s.text for s in transport.sent)
    assert "过去 1 分钟出单 50 单，前三名：李** 50 单" in digest
    assert red_packet == "🧧 红包"
    assert later == "51. 李** 出单\n52. 李** 出单\n53. 李** 出单"
    assert set((await statuses(services)).values()) == {"sent"}


async def test_relay_lines_that_fit_one_message_go_as_lines_not_as_a_digest(services):
    await queue(services, *relay_lines(range(1, 31)))
    transport = FakeTransport()

    await drain(sender_for(services, transport))

    assert [s.text for s in transport.sent] == ["\n".join(f"{n}. 李** 出单" for n in range(1, 31))]

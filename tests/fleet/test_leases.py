"""The leases themselves, in one process standing for several (each Fleet is a process): one
holder at a time, taken over when the holder stops renewing or lets go, claims fenced by the
lease, the account's pace shared, the settlement pass once a period, co-learning moments sent
by the leader only. On SQLite one process holds everything."""

from __future__ import annotations

import asyncio

import pytest

from bot.base.env import Env
from bot.runtime.fleet import Fleet, OncePerPeriod, sender_lease
from bot.runtime.scheduler import ColearningTimer
from tests.colearning_support import SESSION_START, enrol, outbox, paused_scheduler
from tests.fakes import FakeTransport
from tests.test_colearning_sessions import DAY, MINUTE, ROOMS, create_session


def on_postgres(services: Env) -> None:
    if services.db.engine.dialect.name != "postgresql":
        pytest.skip("leases are PostgreSQL's: on SQLite one process holds them all")


def fleet(services: Env, holder: str, *, ttl: float = 10.0) -> Fleet:
    made = Fleet(services, ["helper"], holder=holder)
    made.ttl = ttl
    made.standby = set()  # no start-up courtesy: these tests say who asks when
    return made


async def test_on_sqlite_one_process_holds_every_lease_without_asking(services: Env) -> None:
    if services.db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    alone = Fleet(services, ["helper", "helper2"])
    assert alone.leading and alone.holds(sender_lease("helper2"))
    assert alone.ownership("helper") is None  # the sender paces itself, as before
    await alone.beat()  # what `distbot run` does at start: nothing to ask, nothing to fail
    assert alone.leading and alone.holds(sender_lease("helper"))


async def test_a_lease_has_one_holder_until_it_runs_out_and_then_another_process_takes_it(services: Env) -> None:
    on_postgres(services)
    a, b = fleet(services, "a", ttl=0.6), fleet(services, "b", ttl=0.6)
    await a.beat()
    await b.beat()
    assert a.leading and not b.leading
    await asyncio.sleep(0.8)  # a stops renewing (it died)
    assert not a.leading  # by its own clock a stops counting it as its own first
    await b.beat()
    assert b.leading and b.holds(sender_lease("helper"))


async def test_a_clean_stop_lets_the_next_process_take_over_at_its_next_heartbeat(services: Env) -> None:
    on_postgres(services)
    a, b = fleet(services, "a"), fleet(services, "b")
    await a.beat()
    await a.stop()
    await b.beat()
    assert b.leading


async def test_a_process_whose_lease_was_taken_cannot_claim_and_the_new_holder_inherits_the_pace(
    services: Env,
) -> None:
    on_postgres(services)
    a, b = fleet(services, "a", ttl=0.5), fleet(services, "b", ttl=0.5)
    await a.beat()
    mine = a.ownership("helper")
    assert mine is not None
    async with services.db.unit_of_work() as session:
        assert await mine.turn(session, 2.0) == 0.0  # sends now; the account's next not before 2 s
    await asyncio.sleep(0.6)
    await b.beat()
    a._until[sender_lease("helper")] = float("inf")  # a believes it still holds it (a long pause)
    async with services.db.unit_of_work() as session:
        assert await mine.turn(session, 2.0) is None  # fenced: the lease is b's
    theirs = b.ownership("helper")
    assert theirs is not None
    async with services.db.unit_of_work() as session:
        wait = await theirs.turn(session, 2.0)
    assert wait is not None and 1.0 < wait <= 1.5  # the 2 s gap a reserved, less the time gone by


async def test_the_settlement_pass_runs_once_in_its_period_whichever_process_asks(services: Env) -> None:
    on_postgres(services)
    runs: list[str] = []

    async def settle(who: str) -> int:
        runs.append(who)
        return 0

    a, b = fleet(services, "a"), fleet(services, "b")
    await asyncio.gather(
        OncePerPeriod(a, "settlement", 3600, settle)("a"), OncePerPeriod(b, "settlement", 3600, settle)("b")
    )
    await OncePerPeriod(b, "settlement", 3600, settle)("b")  # a new leader, mid-period
    assert len(runs) == 1


async def test_a_colearning_reminder_is_sent_by_the_leader_only_and_once(services: Env) -> None:
    await enrol(services, ROOMS)
    session_id = await create_session(services)
    services.clock.at = SESSION_START - DAY + 2 * MINUTE  # type: ignore[attr-defined]
    leads = {"a": False, "b": True}
    a = ColearningTimer(services, paused_scheduler(), FakeTransport(), leading=lambda: leads["a"])
    b = ColearningTimer(services, paused_scheduler(), FakeTransport(), leading=lambda: leads["b"])

    await a.run(session_id, "reminder:1440")
    assert await outbox(services, template="colearning_reminder") == []  # a does not lead

    await b.run(session_id, "reminder:1440")
    leads.update(a=True, b=False)  # the lead moves; a's sync sets the moment again and it fires
    await a.run(session_id, "reminder:1440")
    assert [r.target for r in await outbox(services, template="colearning_reminder")] == ROOMS


async def test_fleet_status_says_who_leads_and_sends_for_how_long_and_each_accounts_queue(services: Env) -> None:
    from bot.cli.fleet import describe, read
    from tests.test_sender import queue

    await queue(services, {"target": "a"}, {"target": "b"})
    if services.db.engine.dialect.name == "postgresql":
        await fleet(services, "host:41:ab").beat()

    report = await read(services)
    lines = describe(report)

    assert "  helper: 2 queued (oldest 0.0 s), 0 sending, 0 dead" in lines
    if services.db.engine.dialect.name == "sqlite":
        assert "SQLite: one process leads and sends for every account (no leases)" in lines
    else:
        assert [lease["holder"] for lease in report["leases"]] == ["host:41:ab", "host:41:ab"]
        assert any(line.startswith("leader: host:41:ab, held ") and "runs out in " in line for line in lines)
        assert any(line.startswith("sender:helper: host:41:ab, held ") for line in lines)


async def test_only_the_lease_holder_sends_and_the_next_one_sends_what_it_left_in_flight(services: Env) -> None:
    import random
    from decimal import Decimal

    from bot.base.config import RateLimits
    from bot.runtime.sender import OutboxSender
    from models import outbox_queries as box
    from tests.fakes import FakeTransport
    from tests.test_sender import queue, statuses

    on_postgres(services)
    await queue(services, {"target": "a", "text": "1"}, {"target": "b", "text": "2"}, {"target": "c", "text": "3"})
    a, b = fleet(services, "a", ttl=0.5), fleet(services, "b", ttl=0.5)
    limits = RateLimits(
        account_interval_seconds=Decimal(0), room_interval_seconds=Decimal(0), jitter_seconds=Decimal(0)
    )
    first, second = FakeTransport(), FakeTransport()
    sends_a = OutboxSender(services, first, limits, ownership=a.ownership("helper"), rng=random.Random(1))
    sends_b = OutboxSender(services, second, limits, ownership=b.ownership("helper"), rng=random.Random(1))
    await a.beat()
    await b.beat()

    await sends_a.send_next()
    assert await sends_b.send_next() is not None and second.sent == []  # b is no holder: fenced
    async with services.db.unit_of_work() as session:
        await box.claim(session, [2])  # a claims "2" and dies before sending it
    await asyncio.sleep(0.6)
    await b.beat()
    a._until[sender_lease("helper")] = float("inf")  # a, paused, still believes it holds the lease
    assert await sends_a.send_next() == 0.0 and [m.text for m in first.sent] == ["1"]

    b.heartbeat = 0.1
    b.start()  # b keeps its lease now, and its sender runs
    sends_b.start()
    try:
        for _ in range(100):
            if len(second.sent) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await sends_b.stop()
        await b.stop()
    assert [m.text for m in second.sent] == ["2", "3"]
    assert set((await statuses(services)).values()) == {"sent"}

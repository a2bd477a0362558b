"""Scheduled jobs through a database outage: the settlement pass, the daily material post and a
co-learning reminder due while the database is out each happen once it is back — not an hour
or a day later — and each exactly once. The jobs are wired as ``distbot run`` wires them."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import func, select

from bot.app import schedule_jobs
from bot.base.faults import Retrying
from bot.runtime.health import Health
from bot.runtime.scheduler import register_colearning_jobs
from models import LedgerLine
from tests.colearning_support import SESSION_START, enrol, outbox, session_body
from tests.fakes import FakeTransport
from tests.faults.support import DatabaseFault, eventually, outage_lines, outage_over
from tests.support import TOKEN, order_event, post_event, web_client

FAULT_DRILL = True  # `services` with short waits: tests/faults/conftest.py
pytestmark = pytest.mark.wall_clock  # APScheduler fires by the wall clock



async def settled(services) -> int:
    async with services.db.reading() as session:
        return int(await session.scalar(select(func.count(LedgerLine.id)).where(LedgerLine.entry == "settled")) or 0)


async def test_the_settlement_pass_and_the_material_post_due_during_an_outage_happen_once_it_is_back(services, caplog):
    async with web_client(services) as client:
        status, _ = await post_event(client, order_event("o-1", ref="DEMOC001"))
    assert status == 200
    services.clock.advance(days=8)  # past the refund window; 10:00 in Shanghai, within the posting hours
    scheduler = AsyncIOScheduler(timezone="UTC")
    health = Health(services)
    health.scheduler = scheduler
    schedule_jobs(services, scheduler, health)
    async with DatabaseFault(services) as fault:
        scheduler.start()
        for job in ("settlement", "material-post"):  # due now by the wall clock, not the test's
            scheduler.modify_job(job, next_run_time=datetime.now(UTC))
        await asyncio.sleep(0.5)
        report = await health.report()
        waiting = set(report["checks"]["scheduler"]["waiting_for_database"])
        assert waiting == {"settlement", "material post", "outbox pruning"}  # the pruning runs at start too
        assert report["status"] == "failing"
        await fault.end()
        await eventually(lambda: _posted_and_settled(services), 10, "settled and posted")
        # Each job retries on its own backoff: the pruning, waiting since start, may come last.
        await eventually(lambda: _nothing_waiting(health), 10, "every job through")
    await outage_over(services)
    scheduler.shutdown(wait=False)
    assert await settled(services) == 2  # the seller's and the recruiter's commissions
    assert len(await outbox(services, template="material_post")) == 1
    assert outage_lines(caplog) == (1, 1)
    assert "raised an exception" not in caplog.text  # no job ended in the scheduler's error log


async def _nothing_waiting(health: Health) -> bool:
    return (await health.report())["checks"]["scheduler"]["waiting_for_database"] == {}


async def _posted_and_settled(services) -> bool:
    return await settled(services) == 2 and len(await outbox(services, template="material_post")) == 1


@pytest.mark.parametrize("dialect", ["sqlite"])  # the same wrapper as the jobs above, tried on both
async def test_a_colearning_reminder_due_during_a_short_outage_goes_to_every_group_once_it_is_back(services, caplog):
    await enrol(services, ["room-g1", "room-g2", "room-g3"])
    async with web_client(services) as client:
        response = await client.post(
            "/api/colearning/sessions", json=session_body(), headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status == 201
    services.clock.at = SESSION_START - timedelta(hours=1)  # the 1-hour reminder is due
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.start(paused=True)
    await register_colearning_jobs(services, scheduler, FakeTransport())
    async with DatabaseFault(services) as fault:
        scheduler.resume()
        await asyncio.sleep(0.5)
        await fault.end()
        await eventually(lambda: _three_reminders(services), 10, "the reminder in three groups")
    await asyncio.sleep(0.3)
    scheduler.shutdown(wait=False)
    reminders = await outbox(services, template="colearning_reminder")
    assert sorted(r.target for r in reminders) == ["room-g1", "room-g2", "room-g3"]
    assert outage_lines(caplog)[0] == 1


async def _reminders(services) -> int:
    return len(await outbox(services, template="colearning_reminder"))


async def _three_reminders(services) -> bool:
    return await _reminders(services) == 3


# --- the job wrapper on its own ------------------------------------------------------------------


async def test_a_job_failing_for_another_reason_is_logged_once_and_waits_for_its_next_time(caplog):
    calls: list[int] = []

    async def broken() -> None:
        calls.append(1)
        raise ValueError("a bug, not an outage")

    job = Retrying("report", broken, cap=0.05, first=0.01)
    assert await job.run() is None
    assert calls == [1]
    assert [r.levelno for r in caplog.records if "report failed" in r.getMessage()] == [logging.ERROR]


async def test_a_job_meeting_an_outage_tries_again_with_growing_waits_until_it_gets_through():
    calls: list[int] = []
    waits: list[float] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 6:
            raise ConnectionRefusedError(111, "Connect call failed")
        return "done"

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    class NoJitter(random.Random):  # the waits' shape, without the jitter that spreads processes
        def random(self) -> float:
            return 0.0

    job = Retrying("settlement", flaky, cap=1.0, first=0.1, sleep=sleep, rng=NoJitter())
    assert await job.run() == "done"
    assert len(calls) == 6 and job.failing_since is None
    assert waits == sorted(waits) and 0.075 <= waits[0] <= 0.1 and waits[-1] <= 1.0


async def test_a_job_whose_next_run_comes_before_its_next_try_leaves_the_retry_to_that_run():
    calls: list[int] = []

    async def down() -> None:
        calls.append(1)
        raise ConnectionRefusedError(111, "Connect call failed")

    soon = datetime.now(UTC) + timedelta(milliseconds=1)
    job = Retrying("co-learning sync", down, cap=5.0, first=1.0, next_run=lambda: soon)
    assert await asyncio.wait_for(job.run(), 1) is None
    assert calls == [1] and job.failing_since is not None  # still failing: health says so

"""Chat through a database outage: everything taken in is answered once the database is back,
the outage is logged once when it begins and once when it ends, a health probe answers within a
second all along, and stopping finishes within its grace period (what was not committed waits
in the inbox spool for the next start).

On PostgreSQL the outage is real (the test's database refuses connections and its backends are
killed); on SQLite every statement fails with "disk I/O error" (see ``support``).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from sqlalchemy import event, text

from bot.base.transport import Message
from bot.runtime.middleware import AnswerLimiter
from bot.runtime.router import Router, private
from bot.runtime.spool import Spool
from tests.faults.support import (
    Bot,
    DatabaseFault,
    Prober,
    dm,
    eventually,
    hanging,
    outage_lines,
    outage_over,
    outbox_count,
)

FAULT_DRILL = True  # `services` with short waits: tests/faults/conftest.py


async def test_two_hundred_dms_sent_while_the_database_is_out_are_all_answered_once_it_is_back(services, caplog):
    fault = DatabaseFault(services)
    async with Bot(services) as bot:
        prober = Prober(bot.client)
        prober.start()
        await fault.begin()
        # Each submit returns once the event is safe in the spool: the transport is not held up.
        await asyncio.wait_for(
            asyncio.gather(*(bot.dispatcher.submit(dm(f"guest-{i}", "帮助", i)) for i in range(200))), 10
        )
        assert len(bot.dispatcher.spool) == 200
        await asyncio.sleep((5.0 if fault.postgresql else 1.5) - (time.monotonic() - fault.began))
        during = prober.between(fault.began, time.monotonic())
        outage = await fault.end()
        caught_up = await eventually(lambda: _answered(bot, 200), 30, "200 answers")
        await outage_over(services)
        await prober.stop()

    assert Counter(bot.answered()) == {f"guest-{i}": 1 for i in range(200)}
    assert await outbox_count(services, status="sent") == 200
    assert outage_lines(caplog) == (1, 1)
    assert during == {503}
    assert prober.answers[-1][0] == 200
    assert prober.slowest < 1.0
    slowest = prober.slowest * 1000
    probes = len(prober.answers)
    print(f"outage {outage:.1f} s; 200 answers {caught_up:.2f} s after it; {probes} probes, slowest {slowest:.0f} ms")


async def _answered(bot: Bot, count: int) -> bool:
    return len(bot.transport.sent) >= count


@pytest.mark.parametrize("dialect", ["sqlite"])  # PostgreSQL: test_stop.py, a real process
async def test_a_stop_while_the_database_is_out_ends_at_once_and_the_next_start_answers_what_was_taken(
    services, tmp_path, caplog
):
    spool = tmp_path / "inbox.jsonl"
    fault = DatabaseFault(services)
    async with Bot(services, Spool(spool)) as bot:
        await fault.begin()
        await asyncio.gather(*(bot.dispatcher.submit(dm(f"guest-{i}", "帮助", i)) for i in range(20)))
        started = time.monotonic()
        await bot.dispatcher.stop(grace=1.0)
        await bot.sender.stop(grace=1.0)
        stopped = time.monotonic() - started
    assert stopped < 1.0  # everything taken is on disk: waiting out the grace would gain nothing
    assert "20 message(s) not committed: kept in" in caplog.text
    await fault.end()
    assert await outbox_count(services) == 0

    async with Bot(services, Spool(spool)) as again:  # the next start
        await eventually(lambda: _answered(again, 20), 15, "20 answers after the restart")
    assert Counter(again.answered()) == {f"guest-{i}": 1 for i in range(20)}
    assert spool.read_text() == ""  # emptied once everything is committed
    print(f"stop during the outage took {stopped:.2f} s")


async def test_a_stop_while_the_database_hangs_mid_batch_ends_within_its_grace_and_keeps_the_batch(services, tmp_path):
    """SQLite: every statement waits forever. PostgreSQL: another session holds an exclusive
    lock on the outbox, so the batch's answers wait on it."""
    spool = tmp_path / "inbox.jsonl"
    async with hanging(services), Bot(services, Spool(spool)) as bot:
        submits = [asyncio.create_task(bot.dispatcher.submit(dm(f"guest-{i}", "帮助", i))) for i in range(10)]
        await asyncio.sleep(0.3)
        assert not any(s.done() for s in submits)  # waiting for their commit
        started = time.monotonic()
        await bot.dispatcher.stop(grace=1.0)
        stopped = time.monotonic() - started
        await asyncio.gather(*submits)
    assert 0.9 <= stopped < 1.5
    async with Bot(services, Spool(spool)) as again:
        await eventually(lambda: _answered(again, 10), 15, "10 answers after the restart")
    assert Counter(again.answered()) == {f"guest-{i}": 1 for i in range(10)}
    print(f"stop with a hanging batch took {stopped:.2f} s (grace 1 s)")


async def test_a_batch_the_database_sits_on_is_spooled_after_the_batch_timeout_and_answered_when_it_answers(
    services, caplog
):
    async with Bot(services) as bot:
        async with hanging(services):
            submits = [asyncio.create_task(bot.dispatcher.submit(dm(f"guest-{i}", "帮助", i))) for i in range(10)]
            taken = await eventually(lambda: _all_done(submits), 10, "the transport let go")
            assert len(bot.dispatcher.spool) == 10 and bot.dispatcher.spooling
        await eventually(lambda: _answered(bot, 10), 15, "10 answers")
        await outage_over(services)
    assert Counter(bot.answered()) == {f"guest-{i}": 1 for i in range(10)}
    assert 1.9 <= taken < 4  # the batch timeout is 2 s in these drills
    assert "database unreachable (chat: no commit within 2 s)" in caplog.text
    assert outage_lines(caplog) == (1, 1)


async def _all_done(tasks: list[asyncio.Task[None]]) -> bool:
    return all(t.done() for t in tasks)


@pytest.mark.parametrize("dialect", ["sqlite"])
async def test_a_dm_that_arrives_while_the_spool_is_worked_off_is_answered_after_those_taken_before_it(services):
    fault = DatabaseFault(services)
    order: list[str] = []
    router = Router("t")

    @router.message(private)
    async def record(ctx):
        order.append(ctx.message.text)

    async with Bot(services) as bot:
        bot.dispatcher.routers = [router]
        await fault.begin()
        for i in range(5):
            await bot.dispatcher.submit(dm("wx-lina", f"第{i}条", i))
        await fault.end()
        await bot.dispatcher.submit(dm("wx-lina", "之后", 9))  # goes behind the spool
        await eventually(lambda: _done(bot), 10, "spool worked off")
    assert order[-6:] == ["第0条", "第1条", "第2条", "第3条", "第4条", "之后"]


async def _done(bot: Bot) -> bool:
    return not bot.dispatcher.spooling and bot.dispatcher.queue.empty() and not bot.dispatcher._current


async def test_a_handler_meeting_the_outage_is_not_a_broken_handler_and_nobody_gets_the_polite_error(services):
    fault = DatabaseFault(services)
    router = Router("t")
    tries: list[str] = []

    @router.message(private)
    async def answer(ctx):
        tries.append(ctx.message.text)
        if len(tries) == 1:
            await fault.begin()  # the database goes away under this very handler
        await ctx.session.execute(text("SELECT 1"))
        ctx.reply("menu", {"platform": "测试", "brands": []})

    async with Bot(services) as bot:
        bot.dispatcher.routers = [router]
        await bot.dispatcher.submit(dm("wx-lina", "坏时机"))
        await asyncio.sleep(0.5)
        await fault.end()
        await eventually(lambda: _answered(bot, 1), 10, "the answer")
        await asyncio.sleep(0.2)
    assert bot.dispatcher.failed == 0
    assert bot.answered() == ["wx-lina"]
    assert await outbox_count(services, template="menu") == 1
    assert await outbox_count(services, template="error_fallback") == 0


@pytest.mark.parametrize("dialect", ["sqlite"])
async def test_retrying_a_batch_does_not_spend_a_persons_flood_allowance_again(services):
    router = Router("t")
    commits = {"failing": 1}

    @router.message(private)
    async def answer(ctx):
        ctx.reply("menu", {"platform": ctx.message.text, "brands": []})  # three different answers

    def commit(_connection) -> None:  # the outage hits at the commit, after every handler ran
        if commits["failing"]:
            commits["failing"] -= 1
            raise ConnectionResetError(104, "Connection reset by peer")

    event.listen(services.db.engine.sync_engine, "commit", commit)
    async with Bot(services, routers=[router], middlewares=[AnswerLimiter.for_env(services, person=3)]) as bot:
        await asyncio.gather(*(bot.dispatcher.submit(dm("wx-lina", f"你好{i}", i)) for i in range(3)))
        await eventually(lambda: _answered(bot, 3), 10, "three answers")
    assert commits["failing"] == 0 and bot.answered() == ["wx-lina"] * 3


@pytest.mark.parametrize("dialect", ["sqlite"])
async def test_events_the_helper_sent_itself_are_still_ignored_after_an_outage(services):
    fault = DatabaseFault(services)
    async with Bot(services) as bot:
        await fault.begin()
        await bot.dispatcher.submit(Message("m1", "helper", "小助手", "帮助", at=dm("x", "").at))
        await bot.dispatcher.submit(dm("wx-lina", "帮助"))
        await fault.end()
        await eventually(lambda: _answered(bot, 1), 10, "the answer")
        await asyncio.sleep(0.2)
    assert bot.answered() == ["wx-lina"]

"""Answer limits (bot.runtime.limits) as people notice them: the same answer is not repeated, someone
past their budget hears "稍后再试" once and is answered again later, welcomes always go, and
nothing a batch rolled back is held against the person."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

import handlers
from bot.runtime.dispatch import Dispatcher
from bot.runtime.limits import AnswerBatch, Answered, AnswerLimits, Verdict
from bot.runtime.middleware import AnswerLimiter
from bot.runtime.router import Router, keyword, private
from models import OutboxDrop
from tests.dm_support import dm, outbox, run, sell
from tests.fakes import FakeTransport
from tests.support import START, edited_settings, order_event, running_services


@pytest.fixture
async def services(databases, dialect):
    """A stranger's budget cut to one answer a minute (config.yaml gives 3): the rules show with
    fewer messages."""
    async with running_services(databases, dialect, edited_settings(("guest: 3,", "guest: 1,"))) as running:
        yield running


def templates_to(rows, target: str) -> list[str]:
    return [r.template for r in rows if r.target == target and r.kind == "text"]


async def test_a_distributor_asking_for_earnings_twice_gets_them_once_and_again_when_they_have_changed(services):
    await run(services, dm("wx-lina", "收益"), dm("wx-lina", "升级"))
    services.clock.advance(seconds=30)
    await run(services, dm("wx-lina", "收益"))  # nothing changed: the answer above still stands
    await sell(services, order_event("o-1", ref="DEMOC001"))
    services.clock.advance(seconds=10)
    await run(services, dm("wx-lina", "收益"))

    rows = await outbox(services)
    assert templates_to(rows, "wx-lina") == ["earnings_dm", "progress_dm", "earned_dm", "earnings_dm"]
    first, latest = (r.text for r in rows if r.template == "earnings_dm")
    assert "待结算 0.00" in first and "待结算 144.00" in latest


async def test_past_the_budget_a_stranger_hears_try_later_once_and_is_answered_again_a_minute_on(services):
    await run(services, dm("wx-new", "你好"), dm("wx-new", "数学"), dm("wx-new", "阅读"))
    services.clock.advance(seconds=61)
    await run(services, dm("wx-new", "阅读"))

    rows = await outbox(services)
    assert templates_to(rows, "wx-new") == ["menu", "answer_later", "how_to_join"]
    assert "想进绘本岛的推广群" in rows[-1].text


async def test_a_menu_withheld_by_the_limits_is_not_taken_for_sent(services):
    await run(services, dm("wx-new", "数学"), dm("wx-new", "帮助"))
    services.clock.advance(seconds=61)
    await run(services, dm("wx-new", "帮助"))

    assert templates_to(await outbox(services), "wx-new") == ["how_to_join", "answer_later", "menu"]


async def test_a_welcome_is_never_withheld_by_the_answer_budget(services):
    await run(services, dm("wx-new", "你好"), dm("wx-new", "注册 NOPE2345"), dm("wx-new", "注册 DEMOC001"))

    assert templates_to(await outbox(services), "wx-new") == ["menu", "answer_later", "registered"]


async def test_an_answer_decided_in_a_batch_that_was_rolled_back_is_still_given_on_the_replay(services):
    broken = Router("broken")

    @broken.message(private, keyword("坏"))
    async def fails(ctx):
        raise RuntimeError("boom")

    dispatcher = Dispatcher(services, [broken, *handlers.ROUTERS], FakeTransport())
    dispatcher.start()
    await asyncio.gather(*(dispatcher.submit(dm(f"p{i}", "坏" if i == 2 else "帮助")) for i in range(4)))
    await dispatcher.stop()

    rows = await outbox(services)
    assert [(r.target, r.template) for r in rows if r.template == "menu"] == [("p0", "menu"), ("p1", "menu"),
                                                                              ("p3", "menu")]  # fmt: skip
    assert dispatcher.failed == 1


async def test_the_same_answer_is_given_again_once_the_repeat_window_is_over(services):
    await run(services, dm("wx-zhangwei", "邀请码"), dm("wx-zhangwei", "我的邀请码"))
    services.clock.advance(minutes=5)
    await run(services, dm("wx-zhangwei", "邀请码"))

    assert templates_to(await outbox(services), "wx-zhangwei") == ["my_code", "my_code"]


async def test_answers_withheld_are_counted_for_ops_by_reason_and_template(services):
    await run(services, *(dm("wx-new", t) for t in ("收益", "升级", "帮助", "数学")))

    async with services.db.reading() as session:
        counted = {(d.reason, d.template): d.count for d in await session.scalars(select(OutboxDrop))}
    assert counted == {("repeat", "how_to_join"): 1, ("limit", "menu"): 1, ("limit", "how_to_join"): 1}


def test_limits_come_from_the_configuration_and_staff_get_more_than_strangers(services):
    limits = AnswerLimiter.for_env(services).limits

    assert (limits.window, limits.repeat) == (timedelta(seconds=60), timedelta(minutes=5))
    assert limits.budgets == {"guest": 1, "distributor": 6, "manager": 20, "ops": 20}


def test_the_memory_forgets_people_quiet_for_longer_than_it_needs_once_it_grows():
    limits = AnswerLimits(timedelta(seconds=60), {"guest": 1}, room=30, repeat=timedelta(minutes=5),
                          keep=timedelta(minutes=5))  # fmt: skip
    memory = Answered(max_people=2)
    for n, minute in enumerate((0, 1, 10, 11)):
        batch = AnswerBatch(memory, limits)
        at = START + timedelta(minutes=minute)
        assert batch.decide(f"p{n}", "guest", None, "menu", "菜单", at, budgeted=True) is Verdict.ANSWER
        batch.commit()

    assert sorted(memory.people) == ["p2", "p3"]

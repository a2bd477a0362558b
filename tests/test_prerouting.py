"""The pre-routing stage: every event passes the registered middlewares, in order, before
first-match routing; one may stop it (and still answer through the context); the event
figures count each event once, by kind and outcome, and /healthz shows them."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

import handlers
from bot.base.transport import Event, Message, RoomJoin
from bot.runtime.dispatch import Dispatcher
from bot.runtime.health import Health
from bot.runtime.metrics import EventMetrics, MetricsHook
from bot.runtime.middleware import AnswerLimiter, CallNext, Outcome
from bot.runtime.router import MessageContext, Role, Router, keyword, private
from models import OutboxMessage
from tests.fakes import FakeTransport
from tests.support import START

ROOM = "room-xinghuo-1"  # a brand group of the test configuration


def message(sender: str, text: str, n: int = 0, room: str | None = None, **extra: object) -> Message:
    return Message(id=f"{sender}-{n}", sender=sender, sender_name=sender, text=text, at=START, room=room, **extra)  # type: ignore[arg-type]


async def outbox(services) -> list[OutboxMessage]:
    async with services.db.reading() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def run(services, middlewares, *events: Event, routers=None) -> Dispatcher:
    dispatcher = Dispatcher(services, routers or handlers.ROUTERS, FakeTransport(), middlewares=middlewares)
    dispatcher.start()
    await asyncio.gather(*(dispatcher.submit(e) for e in events))
    await dispatcher.stop()
    return dispatcher


class NoLinks:
    """A moderation-like middleware: a link from a guest in a group is answered with a warning
    and reaches no router."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None, str, tuple[str, ...], str, Role]] = []

    async def __call__(self, event: Event, ctx: MessageContext, call_next: CallNext) -> Outcome:
        if isinstance(event, Message):
            self.seen.append((event.sender, event.room, event.text, event.mentions, event.kind, ctx.role))
            if event.room is not None and "http" in ctx.text and ctx.role is Role.GUEST:
                ctx.reply("manager_only", {"command": "发链接", "brand": "星火"})
                return Outcome.STOPPED
        return await call_next()


async def test_a_middleware_sees_the_room_message_with_its_sender_text_and_mentions_and_can_stop_it(services):
    routed: list[str] = []
    router = Router("t")

    @router.message()
    async def anything(ctx):
        routed.append(ctx.message.text)

    guard = NoLinks()
    ad = message("wx-stranger", "加群 http://x.cn", room=ROOM, mentions=("wx-a", "wx-b"))
    await run(services, [AnswerLimiter.for_env(services), guard], ad, message("wx-lina", "你好", n=1, room=ROOM),
              routers=[router])  # fmt: skip

    assert guard.seen[0] == ("wx-stranger", ROOM, "加群 http://x.cn", ("wx-a", "wx-b"), "text", Role.GUEST)
    assert routed == ["你好"]
    [warning] = await outbox(services)
    assert (warning.target, warning.template, warning.payload) == (ROOM, "manager_only", {"mentions": ["wx-stranger"]})


async def test_middlewares_run_in_the_order_they_are_registered_around_the_handler(services):
    calls: list[str] = []

    def named(name: str):
        async def middleware(event, ctx, call_next):
            calls.append(f"{name} in")
            outcome = await call_next()
            calls.append(f"{name} out: {outcome}")
            return outcome

        return middleware

    router = Router("t")

    @router.message(private)
    async def handler(ctx):
        calls.append("handler")

    await run(services, [named("first"), named("second")], message("wx-lina", "你好"), routers=[router])

    assert calls == ["first in", "second in", "handler", "second out: handled", "first out: handled"]


async def test_the_figures_count_each_event_once_by_kind_and_outcome(services):
    metrics = EventMetrics()
    router = Router("t")

    @router.message(private, keyword("坏"))
    async def broken(ctx):
        raise RuntimeError("boom")

    @router.message(private)
    async def fine(ctx):
        ctx.reply("error_fallback", {})

    events: list[Event] = [message(f"p{i}", "坏" if i == 2 else "好") for i in range(5)]
    events += [message("wx-lina", "大家好", room=ROOM), RoomJoin(room=ROOM, named=("wx-new",), at=START)]
    # One batch: p2 fails, the batch is rolled back and replayed event by event.
    dispatcher = await run(services, [MetricsHook(metrics), AnswerLimiter.for_env(services)], *events,
                           routers=[router])  # fmt: skip

    assert dispatcher.failed == 1
    assert metrics.report()["events"] == {
        "dm": {"failed": 1, "handled": 4},
        "group": {"unmatched": 1},
        "room_join": {"unmatched": 1},
    }
    assert metrics.report()["latency"]["dm"]["count"] == 5


async def test_a_stopped_event_is_counted_as_stopped(services):
    metrics = EventMetrics()
    ad = message("wx-stranger", "http://x.cn", room=ROOM)

    await run(services, [MetricsHook(metrics), AnswerLimiter.for_env(services), NoLinks()], ad)

    assert metrics.count("group", Outcome.STOPPED) == 1


async def test_healthz_shows_the_event_figures(services):
    metrics = EventMetrics()
    dispatcher = await run(services, [MetricsHook(metrics)], message("wx-lina", "帮助"))
    health = Health(services)
    health.dispatcher, health.metrics = dispatcher, metrics

    chat = (await health.report())["checks"]["chat"]

    assert chat["events"] == {"dm": {"handled": 1}}
    assert chat["latency"]["dm"]["count"] == 1


def test_handling_times_are_read_as_the_bound_they_fall_under():
    metrics = EventMetrics()
    for ms in (0.5, 0.7, 3, 4, 4.5, 8, 9, 30, 40, 700):
        metrics.add("dm", Outcome.HANDLED, ms)

    latency = metrics.report()["latency"]["dm"]

    assert (latency["p50_ms"], latency["p95_ms"], latency["max_ms"]) == (5.0, 1000.0, 700.0)


async def test_the_console_health_block_shows_ops_the_events_by_kind(services):
    from tests.console_support import log_in, make_account
    from tests.faults.support import Bot

    await make_account(services, "xiaomei")
    async with Bot(services) as bot:
        await bot.dispatcher.submit(message("wx-lina", "帮助"))
        await bot.dispatcher.submit(message("wx-lina", "大家好", n=1, room=ROOM))
        await log_in(bot.client, "xiaomei")
        page = await (await bot.client.get("/console")).text()

    assert 'data-events="dm">私聊：已处理 1' in page
    assert 'data-events="group">群消息：无需处理 1' in page

"""Drill: a flood of strangers. 5,000 DMs from 500 strangers (ten mixed texts each, all at once,
through the dispatcher and the real routers) must not become hours of backlog ahead of the
messages that matter: each stranger gets at most their answer budget (``answers.guest``, 3 a
minute, each answer once however often it is asked for) and one "稍后再试", the outbox holds
no more low-priority rows than its cap, ops see what was dropped, and a relay line and an
earned DM queued after the flood go out before the menus still waiting."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from sqlalchemy import select

import handlers
from bot.base.priorities import LOW
from bot.base.transport import Message
from bot.runtime.dispatch import Dispatcher
from bot.runtime.sender import OutboxSender
from models import Course, OutboxMessage
from tests.dm_support import sell
from tests.fakes import FakeTransport
from tests.support import START, TOKEN, edited_settings, order_event, running_services, web_client
from tests.test_sender import FakeTime, drain

PEOPLE, EACH = 500, 10
TEXTS = ("你好", "帮助", "数学", "收益", "升级", "怎么加入", "阅读", "在吗", "菜单", "科学")
GROUP, MANAGER = "room-xinghuo-1", "mgr-zhaolin"


def stranger_dms(people: int = PEOPLE) -> list[Message]:
    """Ten mixed texts from each stranger, interleaved as they would arrive."""
    return [
        Message(id=f"s{p}-{n}", sender=f"stranger-{p}", sender_name="家长", text=TEXTS[(p + n) % len(TEXTS)], at=START)
        for n in range(EACH)
        for p in range(people)
    ]


async def dispatch(services, events: list[Message], transport: FakeTransport | None = None) -> None:
    dispatcher = Dispatcher(services, handlers.ROUTERS, transport or FakeTransport())
    dispatcher.start()
    await asyncio.gather(*(dispatcher.submit(e) for e in events))
    await dispatcher.stop()
    assert dispatcher.failed == 0


async def queued(services) -> list[OutboxMessage]:
    async with services.db.reading() as session:
        return list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.status == "queued").order_by(OutboxMessage.id)
            )
        )


async def test_five_thousand_dms_from_five_hundred_strangers_get_their_budget_of_answers_and_at_most_one_try_later_each(
    databases, dialect
):
    uncapped = edited_settings(("low_priority_cap: 200", "low_priority_cap: null"))
    async with running_services(databases, dialect, uncapped) as services:
        budget = services.settings.raw.answers.guest
        await dispatch(services, stranger_dms())
        rows = await queued(services)

    answers = Counter(r.target for r in rows if r.template != "answer_later")
    try_later = Counter(r.target for r in rows if r.template == "answer_later")
    assert len(answers) == PEOPLE and set(answers.values()) == {budget}  # everyone answered, within budget
    texts = Counter((r.target, r.text) for r in rows if r.template != "answer_later")
    assert set(texts.values()) == {1}  # no answer twice to one person
    assert set(try_later.values()) == {1}
    assert {r.text for r in rows if r.template == "answer_later"} == {"消息有点多，请 60 秒后再试～"}
    assert len(rows) == (budget + 1) * PEOPLE  # 4,500 replies before


async def test_a_stranger_saying_the_same_thing_ten_times_gets_one_answer(services):
    same = [Message(id=f"m{n}", sender="stranger-1", sender_name="家长", text="帮助", at=START) for n in range(EACH)]
    await dispatch(services, same)

    assert [r.template for r in await queued(services)] == ["menu"]


async def test_one_strangers_ten_mixed_messages_arriving_together_get_their_budget_and_one_try_later(services):
    budget = services.settings.raw.answers.guest
    await dispatch(services, [m for m in stranger_dms(1)])

    templates = [r.template for r in await queued(services)]
    assert len(templates) == budget + 1 and templates[-1] == "answer_later" and templates[0] == "menu"


async def test_the_flood_queues_no_more_low_priority_rows_than_the_cap_and_ops_see_what_was_dropped(services):
    cap = services.settings.raw.outbox.low_priority_cap
    await dispatch(services, stranger_dms())

    rows = await queued(services)
    assert len(rows) == cap and all(r.priority == LOW for r in rows)
    async with web_client(services) as client:
        response = await client.get("/api/outbox?status=queued", headers={"Authorization": f"Bearer {TOKEN}"})
        body = await response.json()
    assert body["queued_by_priority"] == {"live": 0, "earned": 0, "welcome": 0, "answer": 0, "menu": cap}
    dropped = body["not_queued"]
    assert dropped["day"] == "2026-11-25"
    # 5,000 answers owed: the budget given to each, the rest withheld by the limits; of the rows
    # the limits let through (the answers and 500 "稍后再试"), all but the cap were not queued.
    budget = services.settings.raw.answers.guest
    passed = (budget + 1) * PEOPLE
    reasons = dropped["by_reason"]
    assert reasons["cap"] == passed - cap and reasons["limit"] > 0 and reasons["repeat"] > 0
    assert reasons["limit"] + reasons["repeat"] == PEOPLE * (EACH - budget)
    assert dropped["total"] == sum(reasons.values())
    capped = {(r["template"], r["count"]) for r in dropped["rows"] if r["reason"] == "cap"}
    assert sum(n for _, n in capped) == passed - cap and {t for t, _ in capped} <= {
        "menu",
        "menu_reminder",
        "how_to_join",
        "answer_later",
    }


async def test_a_relay_line_and_an_earned_dm_queued_after_the_flood_go_out_before_the_remaining_menus(services):
    transport, time = FakeTransport(), FakeTime()
    limits = services.settings.raw.outbox.limits  # the production pace: 3 s, 8 s a room, 0–2 s jitter
    sender = OutboxSender(services, transport, limits, rng=random.Random(7), monotonic=time.monotonic, sleep=time.sleep)
    await dispatch(services, [Message(id="push", sender=MANAGER, sender_name="赵琳", text="开始接龙 双十二", at=START,
                                      room=GROUP)])  # fmt: skip
    await drain(sender)  # the push's opening post, in each of the brand's groups
    await dispatch(services, stranger_dms())
    await sell(services, order_event("o-1", ref="DEMOC001"))  # relay lines, "you earned" DMs
    opened, time.now = len(transport.sent), time.now + 60  # the groups' pace is over

    await drain(sender, limit=8)

    sent = transport.sent[opened:]
    first_menu = next(i for i, s in enumerate(sent) if s.target.startswith("stranger-"))
    relayed = [s for s in sent[:first_menu] if s.room]
    assert sorted(s.target for s in relayed) == ["room-xinghuo-1", "room-xinghuo-2"]
    assert all("1. 李** 出单" in s.text for s in relayed)
    earned = [s.target for s in sent[:first_menu] if not s.room]
    assert "wx-lina" in earned and all(t.startswith("wx-") for t in earned)  # the seller, her recruiter
    menus_left = sum(r.priority == LOW for r in await queued(services))
    assert menus_left >= services.settings.raw.outbox.low_priority_cap - len(sent[first_menu:])


async def test_a_managers_commands_in_a_flooded_group_all_take_effect_though_answers_are_limited(services):
    chatter = [
        Message(id=f"c{i}", sender=f"stranger-{i}", sender_name="家长", text="@小助手 在吗", at=START, room=GROUP,
                mentions_self=True)
        for i in range(60)
    ]  # fmt: skip
    commands = [
        Message(id=f"m{n}", sender=MANAGER, sender_name="赵琳", text=f"库存 XH-MATH-S1 {200 - n}", at=START, room=GROUP)
        for n in range(40)
    ]
    await dispatch(services, [e for pair in zip(chatter, commands, strict=False) for e in pair] + chatter[40:])

    async with services.db.reading() as session:
        assert await session.scalar(select(Course.stock).where(Course.sku == "XH-MATH-S1")) == 161
    in_group = [r for r in await queued(services) if r.target == GROUP]
    assert len(in_group) <= services.settings.raw.answers.room
    assert not any(r.template == "answer_later" for r in in_group)  # no "稍后再试" posted into a group

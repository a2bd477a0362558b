"""Hypothesis throws any text at the helper, privately and in groups: nothing escapes as an
exception, nothing a person typed is evaluated as a template, and every private message from
someone new gets exactly one answer."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import handlers
from bot.base.transport import Message
from bot.runtime.dispatch import Dispatcher
from bot.runtime.middleware import AnswerLimiter
from models import OutboxMessage
from tests.fakes import FakeTransport
from tests.support import START

TEMPLATE_LIKE = st.sampled_from(
    ["{{ 7*7 }}", "{% for x in range(9) %}x{% endfor %}", "{{ ''.__class__.__mro__ }}", "{#", "}}{{", "{{ settings }}"]
)
TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), max_size=50),  # emoji
    st.builds(lambda a, b: f"{a}{b}", st.text(max_size=30), TEMPLATE_LIKE),
    st.sampled_from(["", " ", "\n\n", "数学" * 5000, "帮助", "收益", "升级", "注册", "注册 0O1Il", "邀请码", "晒单"]),
    st.builds(
        lambda word, noise: f"{noise}{word}{noise}",
        st.sampled_from(["数学", "阅读", "排行榜", "库存"]),
        st.text(max_size=10),
    ),
)
PEOPLE = itertools.count()
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


async def replies_to(services, target: str) -> list[OutboxMessage]:
    async with services.db.reading() as session:
        return list(await session.scalars(select(OutboxMessage).where(OutboxMessage.target == target)))


@FUZZ
@given(text=TEXT)
async def test_any_private_message_from_someone_new_gets_exactly_one_answer_and_nothing_breaks(services, text):
    person = f"fuzz-{next(PEOPLE)}"
    dispatcher = Dispatcher(services, handlers.ROUTERS, FakeTransport())
    dispatcher.start()

    await dispatcher.submit(Message(id=f"{person}-1", sender=person, sender_name="家长", text=text, at=START))
    await dispatcher.stop()

    assert dispatcher.failed == 0
    answers = [r for r in await replies_to(services, person) if r.kind == "text"]
    assert len(answers) == 1, (text[:80], [a.template for a in answers])
    assert "49" not in answers[0].text or "49" in text
    assert "__class__" not in answers[0].text or "__class__" in text


@FUZZ
@given(text=TEXT, mention=st.booleans(), sender=st.sampled_from(["wx-lina", "mgr-zhaolin", "ops-xiaomei", "stranger"]))
async def test_any_group_message_leaves_the_bot_standing_and_answers_at_most_once(services, text, mention, sender):
    n = next(PEOPLE)
    limiter = AnswerLimiter.for_env(services, person=10**6, room=10**6)
    dispatcher = Dispatcher(services, handlers.ROUTERS, FakeTransport(), middlewares=[limiter])
    dispatcher.start()
    async with services.db.reading() as session:
        before = len(list(await session.scalars(select(OutboxMessage.id))))

    await dispatcher.submit(
        Message(
            id=f"g-{n}",
            sender=sender,
            sender_name="某人",
            text=text,
            at=START,
            room="room-xinghuo-1",
            mentions=("helper",) if mention else (),
            mentions_self=mention,
        )
    )
    await dispatcher.stop()

    assert dispatcher.failed == 0
    async with services.db.reading() as session:
        new = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.id > before)))
    texts = [r for r in new if r.kind == "text" and r.target == "room-xinghuo-1"]
    assert len(texts) <= 1 + (1 if "🧧" in "".join(r.text for r in texts) else 0)
    for row in texts:
        assert "49" not in row.text or "49" in text

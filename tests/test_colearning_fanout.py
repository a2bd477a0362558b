"""A lecturer's words fanned out to many groups go through the outbox sender: at the helper
account's pace, each group once, lines said together arriving together."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from bot.runtime.dispatch import Dispatcher
from bot.runtime.sender import OutboxSender
from services import colearning
from tests.colearning_support import LECTURER, ROUTERS, SESSION_START, dispatch, enrol, outbox, said, session_draft
from tests.fakes import FakeTransport
from tests.test_sender import FakeTime

MINUTE = timedelta(minutes=1)



@dataclass
class TimedTransport(FakeTransport):
    """Records the (fake) moment of each send."""

    time: FakeTime = field(default_factory=FakeTime)
    at: list[float] = field(default_factory=list)

    async def send_text(self, target, text, *, room, mentions=(), ref=None):
        self.at.append(self.time.monotonic())
        return await super().send_text(target, text, room=room, mentions=mentions, ref=ref)


async def test_a_lecturer_message_fanned_out_to_50_groups_keeps_the_account_pace_and_reaches_each_group_once(services):
    rooms = [f"room-f{i:02d}" for i in range(50)]
    await enrol(services, rooms)
    async with services.context() as ctx:
        await colearning.create_session(ctx, session_draft(ctx.settings, cards=[]))
    await dispatch(
        services,
        said(LECTURER, "大家好", SESSION_START + MINUTE, 1, name="王老师"),
        said(LECTURER, "今天讲分数", SESSION_START + MINUTE, 2, name="王老师"),
    )
    time = FakeTime()
    transport = TimedTransport(time=time)
    limits = services.settings.raw.outbox.limits  # config.yaml: 3 s apart, + up to 2 s of jitter
    sender = OutboxSender(services, transport, limits, rng=random.Random(7), monotonic=time.monotonic, sleep=time.sleep)

    while (wait := await sender.send_next()) is not None:
        if wait:
            await time.sleep(wait)

    assert [s.target for s in transport.sent] == rooms  # one message per group, in enrolment order
    assert {s.text for s in transport.sent} == {
        "【数学思维公开课】王老师：大家好\n【数学思维公开课】王老师：今天讲分数"
    }
    gaps = [b - a for a, b in zip(transport.at, transport.at[1:], strict=False)]
    assert min(gaps) >= 3.0
    assert transport.at[-1] - transport.at[0] <= 49 * 5.0


async def test_a_lecturer_saying_twenty_lines_in_a_minute_has_every_line_relayed(services):
    await enrol(services, ["room-f00"])
    async with services.context() as ctx:
        await colearning.create_session(ctx, session_draft(ctx.settings, cards=[]))
    dispatcher = Dispatcher(services, ROUTERS, FakeTransport())  # the dispatcher's own limits
    dispatcher.start()
    for n in range(20):
        await dispatcher.submit(said(LECTURER, f"第 {n + 1} 句", SESSION_START + MINUTE, n, name="王老师"))
    await dispatcher.stop()

    assert len(await outbox(services, template="colearning_relay")) == 20

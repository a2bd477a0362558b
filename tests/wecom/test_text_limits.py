"""WeCom's text limits against the fake server: a group-message task takes at most 4000 bytes of
text, a 微信客服 message 2048; the transport cuts a room post and splits a private message so
that nothing is refused for its length."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.base.context import FixedClock
from bot.base.transport import Message, TransportError
from bot.transports.wecom import InvalidRequest
from core.post_fit import size
from tests.wecom.transport_support import HELPER, Wired, wired

LINE = "你的推广收益已到账，本周累计 ¥1,234.50，继续加油！"  # 72 bytes


@pytest.fixture
async def w(clock: FixedClock, tmp_path: Path) -> AsyncIterator[Wired]:
    async with wired(clock, tmp_path) as running:
        yield running


async def _customer_writes(w: Wired) -> str:
    customer = w.fake.contacts.add_customer("王妈妈")
    await w.fake.contacts.customer_adds(customer, userid=HELPER)
    await w.fake.kf.customer_says(w.open_kfid, customer, "收益")
    await w.sink.first(Message)
    return customer


async def test_wecom_refuses_a_group_message_over_4000_bytes_before_it_is_sent(w: Wired) -> None:
    room = await w.fake.groups.create_group(HELPER, "星火思维推广1群")
    with pytest.raises(InvalidRequest, match="4000"):
        await w.transport.client.add_msg_template(chat_type="group", sender=HELPER, chat_ids=[room], text="字" * 1334)
    assert w.fake.groupmsg.templates == {}


async def test_an_overlong_room_post_reaches_the_group_cut_at_a_line_end_with_an_ellipsis(w: Wired) -> None:
    room = await w.fake.groups.create_group(HELPER, "星火思维推广1群")
    text = "\n".join([LINE] * 100)  # 7299 bytes

    msgid = await w.transport.send_text(room, text, room=True)
    w.fake.groupmsg.confirm(msgid, HELPER)

    [received] = w.fake.groupmsg.received(room)
    assert size(received) <= 4000
    assert received.endswith(LINE + "\n…")


async def test_a_private_message_over_2048_bytes_arrives_as_several_split_at_line_ends(w: Wired) -> None:
    customer = await _customer_writes(w)
    text = "\n".join([LINE] * 60)  # 4379 bytes

    await w.transport.send_text(customer, text, room=False, ref="7")

    received = w.fake.kf.received(customer)
    assert len(received) == 3
    assert all(size(part) <= 2048 for part in received)
    assert "\n".join(received) == text


async def test_a_split_private_message_never_spends_more_than_the_window_has_left(w: Wired) -> None:
    customer = await _customer_writes(w)
    for n in range(4):
        await w.transport.send_text(customer, f"第{n + 1}条", room=False)

    await w.transport.send_text(customer, "\n".join([LINE] * 60), room=False)

    last = w.fake.kf.received(customer)[-1]
    assert len(w.fake.kf.received(customer)) == 5
    assert size(last) <= 2048 and last.endswith(LINE + "\n…")


async def test_a_split_private_message_interrupted_after_its_first_part_goes_on_with_the_rest_when_retried(
    w: Wired, clock: FixedClock
) -> None:
    customer = await _customer_writes(w)
    text = "\n".join([LINE] * 60)  # 4379 bytes: three messages
    send, calls = w.transport.client.kf_send_text, []

    async def second_call_rate_limited(**kwargs: Any) -> str:
        calls.append(kwargs)
        if len(calls) == 2:
            w.fake.fail_next("kf/send_msg", 45009)
        return await send(**kwargs)

    w.transport.client.kf_send_text = second_call_rate_limited  # type: ignore[method-assign]
    with pytest.raises(TransportError):
        await w.transport.send_text(customer, text, room=False, ref="7")
    clock.advance(minutes=2)  # the outbox tries the row again once the limit has passed
    await w.transport.send_text(customer, text, room=False, ref="7")

    received = w.fake.kf.received(customer)
    assert "\n".join(received) == text  # each part once, in order
    assert len(received) == 3

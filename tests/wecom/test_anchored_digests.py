"""Anchored digests on WeCom: with the brand's digest set for 22:00, its groups' one post of the
day waits for 22:00 and carries the day's lines then, instead of going with the morning's first
line and leaving the rest for tomorrow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.base.outbox import queue_text
from models.statuses import OutboxStatus
from tests.support import Databases, edited_settings, running_services
from tests.wecom.bot_support import BRAND_ROOMS, Bot, running_bot

ANCHORED = ("      digest_at: {}", '      digest_at: {xinghuo: "22:00"}')


@pytest.fixture
async def bot(databases: Databases, dialect: str, tmp_path: Path) -> AsyncIterator[Bot]:
    async with (
        running_services(databases, dialect, edited_settings(ANCHORED)) as services,
        running_bot(services, tmp_path) as running,
    ):
        yield running


async def _line(bot: Bot, n: int) -> None:
    async with bot.env.context() as ctx:
        queue_text(ctx, target=BRAND_ROOMS[0], template="relay_line", room=True, coalesce_key="relay",
                   data={"number": n, "seller": f"家长{n}", "course": "思维课", "quantity": 1})
    await bot.settle()


async def test_a_brands_groups_get_their_one_post_of_the_day_at_its_anchor_with_every_line_so_far(bot: Bot):
    await _line(bot, 1)  # 10:00 in Shanghai
    bot.w.clock.advance(hours=11, minutes=30)
    await _line(bot, 2)  # 21:30

    assert bot.w.fake.groupmsg.templates == {}
    first, second = await bot.rows()
    assert first.status == second.status == OutboxStatus.QUEUED  # the later line waits behind the first
    assert "anchored at 22:00" in first.last_error

    bot.w.clock.advance(minutes=30)  # 22:00
    await bot.settle()

    [digest] = [t.text for t in bot.w.fake.groupmsg.templates.values()]
    assert digest.splitlines() == ["1. 家** 出单 思维课 ×1", "2. 家** 出单 思维课 ×1"]


async def test_a_line_after_the_days_post_waits_for_the_next_days_anchor_not_for_midnight(bot: Bot):
    bot.w.clock.advance(hours=12)  # 22:00
    await _line(bot, 1)
    bot.w.clock.advance(hours=1)  # 23:00
    await _line(bot, 2)
    bot.w.clock.advance(hours=2)  # 01:00 the next day
    await bot.settle()

    assert len(bot.w.fake.groupmsg.templates) == 1
    bot.w.clock.advance(hours=21)  # 22:00 the next day
    await bot.settle()
    assert [t.text for t in bot.w.fake.groupmsg.templates.values()][-1] == "2. 家** 出单 思维课 ×1"

"""One group-message task for many customer groups (``chat_id_list``, up to 2000): the member
confirms it once, groups that are not the helper's are refused at once, and each group's
monthly cap counts the task as one of its messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.base.context import FixedClock
from bot.base.transport import PostState, Refused, UnknownTarget
from tests.wecom.transport_support import HELPER, Wired, wired


@pytest.fixture
async def w(clock: FixedClock, tmp_path: Path) -> AsyncIterator[Wired]:
    async with wired(clock, tmp_path) as running:
        yield running


async def test_one_task_reaches_every_group_of_the_helper_once_the_member_confirms_once(w: Wired) -> None:
    rooms = [await w.fake.groups.create_group(HELPER, f"共学{n}群") for n in range(3)]

    task_id, refused = await w.transport.post_to_rooms([*rooms, "wr-not-ours"], "今晚 8 点共学开始")

    assert refused == ("wr-not-ours",)
    assert len(w.fake.groupmsg.templates) == 1
    assert w.fake.groupmsg.confirm(task_id, HELPER) == dict.fromkeys(rooms, 1)
    assert all(w.fake.groupmsg.received(room) == ["今晚 8 点共学开始"] for room in rooms)
    assert await w.transport.post_states(task_id, rooms) == dict.fromkeys(rooms, PostState.SENT)


async def test_a_group_whose_cap_is_used_up_is_refused_alone_and_the_others_get_the_post(w: Wired) -> None:
    full, fresh = [await w.fake.groups.create_group(HELPER, f"共学{n}群") for n in range(2)]
    for n in range(30):  # November's 30 group messages, all to the first group
        earlier, _ = await w.transport.post_to_rooms([full], f"战报 {n}")
        w.fake.groupmsg.confirm(earlier, HELPER)

    task_id, _ = await w.transport.post_to_rooms([full, fresh], "今晚 8 点共学开始")
    w.fake.groupmsg.confirm(task_id, HELPER)

    assert await w.transport.post_states(task_id, [full, fresh]) == {full: PostState.CAPPED, fresh: PostState.SENT}
    assert w.fake.groupmsg.received(fresh) == ["今晚 8 点共学开始"]


async def test_a_task_for_no_group_of_the_helper_or_too_many_groups_is_refused(w: Wired) -> None:
    with pytest.raises((UnknownTarget, Refused)) as none_ours:  # all in fail_list, or refused outright
        await w.transport.post_to_rooms(["wr-a", "wr-b"], "公告")
    assert not none_ours.value.retryable
    with pytest.raises(Refused, match="2001 groups"):
        await w.transport.post_to_rooms([f"wr-{n}" for n in range(2001)], "公告")
    assert w.fake.groupmsg.templates == {}

"""What the client does with each class of errcode, with limits, and with answers that never come."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import pytest

from bot.base.context import FixedClock
from bot.transports.wecom import (
    ERROR_CODES,
    Busy,
    ErrorClass,
    InvalidRequest,
    PermanentError,
    RateLimited,
    RequestFailed,
    UnknownOutcome,
    WeComClient,
)
from bot.transports.wecom.errors import describe
from tests.wecom.conftest import Sleeps
from tests.wecom.fake_server import FakeWeCom, Limits

GROUPS = "externalcontact/groupchat/list"

# WECOM.md §1, every code with the class the sheet gives it
SHEET = {
    -1: ErrorClass.RETRY, 40001: ErrorClass.REFRESH, 40014: ErrorClass.REFRESH, 42001: ErrorClass.REFRESH,
    41001: ErrorClass.REFRESH, 45009: ErrorClass.BACK_OFF, 45033: ErrorClass.BACK_OFF,
    60011: ErrorClass.PERMANENT, 81013: ErrorClass.PERMANENT, 81017: ErrorClass.PERMANENT,
    84061: ErrorClass.PERMANENT, 40096: ErrorClass.PERMANENT, 41051: ErrorClass.PERMANENT,
    95000: ErrorClass.PERMANENT, 95017: ErrorClass.PERMANENT,
}


def test_every_code_of_the_facts_sheet_has_a_meaning_and_its_class() -> None:
    assert {code: ERROR_CODES[code].kind for code in SHEET} == SHEET
    assert all(ERROR_CODES[code].meaning for code in SHEET)


def test_an_unknown_code_is_permanent_and_says_it_is_unknown() -> None:
    assert describe(123456).kind is ErrorClass.PERMANENT
    assert "unknown" in describe(123456).meaning


async def test_wecom_busy_is_tried_again_with_growing_waits(fake: FakeWeCom, client: WeComClient,
                                                           sleeps: Sleeps) -> None:
    fake.fail_next(GROUPS, -1, -1)
    await client.list_group_chats(owners=["helper"])
    assert sleeps.waits == [0.5, 1.0]
    assert [c.errcode for c in fake.calls_to(GROUPS)] == [-1, -1, 0]


async def test_wecom_still_busy_after_three_retries_is_reported_busy(fake: FakeWeCom, client: WeComClient,
                                                                     sleeps: Sleeps) -> None:
    fake.fail_next(GROUPS, -1, -1, -1, -1)
    with pytest.raises(Busy):
        await client.list_group_chats(owners=["helper"])
    assert len(fake.calls_to(GROUPS)) == 4 and sleeps.waits == [0.5, 1.0, 2.0]


async def test_a_frequency_limit_backs_off_without_calling_again_until_the_block_is_over(
        fake: FakeWeCom, client: WeComClient, clock: FixedClock) -> None:
    fake.fail_next(GROUPS, 45009)
    with pytest.raises(RateLimited) as limited:
        await client.list_group_chats(owners=["helper"])
    assert (limited.value.code, limited.value.retry_after) == (45009, 60.0)
    clock.advance(seconds=30)
    with pytest.raises(RateLimited) as still:
        await client.list_group_chats(owners=["helper"])
    assert still.value.retry_after == 30.0
    assert len(fake.calls_to(GROUPS)) == 1  # the blocked call never left
    clock.advance(seconds=30)
    await client.list_group_chats(owners=["helper"])
    assert len(fake.calls_to(GROUPS)) == 2


async def test_a_concurrency_limit_backs_off_briefly(fake: FakeWeCom, client: WeComClient) -> None:
    fake.fail_next(GROUPS, 45033)
    with pytest.raises(RateLimited) as limited:
        await client.list_group_chats(owners=["helper"])
    assert limited.value.retry_after == 2.0


@pytest.mark.parametrize("limits", [Limits(per_minute=3)])
async def test_the_fakes_per_minute_quota_is_met_as_a_rate_limit(fake: FakeWeCom, client: WeComClient,
                                                                 clock: FixedClock) -> None:
    for _ in range(3):
        await client.list_group_chats(owners=["helper"])
    with pytest.raises(RateLimited):
        await client.list_group_chats(owners=["helper"])
    clock.advance(seconds=61)  # WeCom's block and the client's both over
    await client.list_group_chats(owners=["helper"])


async def test_a_permanent_refusal_carries_the_code_and_its_meaning(fake: FakeWeCom, client: WeComClient) -> None:
    customer = fake.contacts.add_customer("陈静")
    with pytest.raises(PermanentError) as refused:
        await client.get_external_contact(customer)
    assert refused.value.code == 84061
    assert "not an external contact" in refused.value.meaning
    assert len(fake.calls_to("externalcontact/get")) == 1


async def test_a_send_whose_answer_never_comes_is_of_unknown_outcome_and_did_happen(
        fake: FakeWeCom, clock: FixedClock) -> None:
    kfid = fake.kf.add_account("小助手")
    await fake.kf.customer_says(kfid, "wmCUSTOMER", "收益")
    fake.hang_next("kf/send_msg")
    async with WeComClient(fake.corp_id, fake.secret, base_url=fake.base_url, clock=clock, timeout=0.3) as client:
        with pytest.raises(UnknownOutcome):
            await client.kf_send_text(touser="wmCUSTOMER", open_kfid=kfid, text="本月收益 144.00 元")
    assert fake.kf.received("wmCUSTOMER") == ["本月收益 144.00 元"]  # why it must not be sent again blindly


async def test_a_read_whose_answer_never_comes_is_a_plain_failure(fake: FakeWeCom, clock: FixedClock) -> None:
    fake.hang_next(GROUPS)
    async with WeComClient(fake.corp_id, fake.secret, base_url=fake.base_url, clock=clock, timeout=0.3) as client:
        with pytest.raises(RequestFailed):
            await client.list_group_chats(owners=["helper"])


async def test_a_send_that_cannot_connect_is_a_plain_failure(clock: FixedClock) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    async with WeComClient("wwcorp", "secret", base_url=f"http://127.0.0.1:{closed}/cgi-bin/",
                           clock=clock) as client:
        with pytest.raises(RequestFailed, match="cannot connect"):
            await client.send_welcome_msg("CODE", text="欢迎")


@pytest.mark.parametrize("call, problem", [
    (lambda c: c.add_contact_way(state="X" * 31, users=["helper"]), "state has 31 characters"),
    (lambda c: c.add_join_way(chat_ids=[f"wr{i}" for i in range(6)]), "chat_id_list has 6 entries"),
    (lambda c: c.kf_send_text(touser="wm", open_kfid="wk", text="字" * 683), "text has 2049 bytes"),
    (lambda c: c.add_msg_template(chat_type="group", chat_ids=["wr1"], text="接龙"), "needs its sender"),
    (lambda c: c.send_welcome_msg("CODE"), "a text or an attachment"),
])
async def test_a_request_beyond_a_documented_limit_is_refused_before_calling(
        fake: FakeWeCom, client: WeComClient, call: Callable[[WeComClient], Awaitable[object]], problem: str) -> None:
    with pytest.raises(InvalidRequest, match=problem):
        await call(client)
    assert fake.calls == []

"""The access token: one fetch for many tasks, renewed before expiry, refreshed once when refused."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bot.base.context import FixedClock
from bot.transports.wecom import AuthFailed, RateLimited, WeComClient
from tests.wecom.fake_base import BAD_TOKEN, TOKEN_EXPIRED
from tests.wecom.fake_server import FakeWeCom

GROUPS = "externalcontact/groupchat/list"


async def list_groups(client: WeComClient) -> int:
    page = await client.list_group_chats(owners=["helper"])
    return len(page.items)


async def test_twenty_tasks_starting_at_once_share_one_gettoken(fake: FakeWeCom, client: WeComClient) -> None:
    results = await asyncio.gather(*(list_groups(client) for _ in range(20)))
    assert results == [0] * 20
    assert len(fake.calls_to("gettoken")) == 1
    assert len(fake.calls_to(GROUPS)) == 20


async def test_the_token_is_reused_until_a_minute_before_it_expires(fake: FakeWeCom, client: WeComClient,
                                                                    clock: FixedClock) -> None:
    await list_groups(client)
    clock.advance(seconds=7200 - 61)
    await list_groups(client)
    assert len(fake.calls_to("gettoken")) == 1
    clock.advance(seconds=2)  # 59 s left: renewed before a request could leave with it
    await list_groups(client)
    assert len(fake.calls_to("gettoken")) == 2
    assert all(call.errcode == 0 for call in fake.calls_to(GROUPS))


async def test_a_token_revoked_early_is_replaced_once_and_the_call_goes_through(fake: FakeWeCom,
                                                                                client: WeComClient) -> None:
    await list_groups(client)
    fake.revoke_tokens()
    assert await list_groups(client) == 0
    assert [c.errcode for c in fake.calls_to(GROUPS)] == [0, BAD_TOKEN, 0]
    assert len(fake.calls_to("gettoken")) == 2


async def test_tasks_that_meet_a_revoked_token_together_fetch_one_new_token(fake: FakeWeCom,
                                                                            client: WeComClient) -> None:
    await list_groups(client)
    fake.revoke_tokens()
    await asyncio.gather(*(list_groups(client) for _ in range(10)))
    # each task that met the revoked token drops it only if it is still the cached one
    assert len(fake.calls_to("gettoken")) == 2


@pytest.mark.parametrize("code", [TOKEN_EXPIRED, BAD_TOKEN, 40001, 41001])
async def test_each_token_error_refreshes_once(fake: FakeWeCom, client: WeComClient, code: int) -> None:
    fake.fail_next(GROUPS, code)
    assert await list_groups(client) == 0
    assert len(fake.calls_to("gettoken")) == 2


async def test_a_fresh_token_refused_again_is_an_authentication_failure(fake: FakeWeCom,
                                                                        client: WeComClient) -> None:
    fake.fail_next(GROUPS, BAD_TOKEN, BAD_TOKEN, BAD_TOKEN)
    with pytest.raises(AuthFailed) as failure:
        await list_groups(client)
    assert failure.value.code == BAD_TOKEN
    assert len(fake.calls_to(GROUPS)) == 2  # one retry, not a loop


async def test_a_wrong_secret_is_one_refused_gettoken_for_all_waiting_tasks(fake: FakeWeCom, clock: FixedClock) -> None:
    async with WeComClient(fake.corp_id, "not-the-secret", base_url=fake.base_url, clock=clock) as client:
        outcomes = await asyncio.gather(*(list_groups(client) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(o, AuthFailed) and o.code == 40001 for o in outcomes)
    assert len(fake.calls_to("gettoken")) == 1
    assert fake.calls_to(GROUPS) == []


async def test_a_wrong_corp_id_says_which_code_and_what_it_means(fake: FakeWeCom, clock: FixedClock) -> None:
    async with WeComClient("wwnotthecorp", fake.secret, base_url=fake.base_url, clock=clock) as client:
        with pytest.raises(AuthFailed, match="errcode 40013"):
            await client.gettoken()


async def test_the_fake_refuses_a_token_past_its_expiry_as_expired(fake: FakeWeCom, client: WeComClient,
                                                                  clock: FixedClock) -> None:
    token = await client.gettoken()
    clock.advance(seconds=7200)
    async with aiohttp.ClientSession() as session, session.post(
            fake.base_url + GROUPS, params={"access_token": token.value}, json={"limit": 10}) as answer:
        assert (await answer.json())["errcode"] == TOKEN_EXPIRED
    assert await list_groups(client) == 0  # the client had renewed it before using it again
    assert len(fake.calls_to("gettoken")) == 2


async def test_a_rate_limited_gettoken_is_not_asked_again_until_its_block_is_over(
        fake: FakeWeCom, client: WeComClient, clock: FixedClock) -> None:
    fake.fail_next("gettoken", 45009)
    with pytest.raises(RateLimited):
        await list_groups(client)
    clock.advance(seconds=59)
    with pytest.raises(RateLimited):
        await list_groups(client)
    assert len(fake.calls_to("gettoken")) == 1
    clock.advance(seconds=1)
    assert await list_groups(client) == 0

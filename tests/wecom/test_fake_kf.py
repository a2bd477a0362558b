"""The fake's 微信客服 rules through the real client: news by callback, messages by cursor, and
answers only within 48 h of the customer's message, at most 5 per message."""

from __future__ import annotations

import pytest

from bot.base.context import FixedClock
from bot.transports.wecom import KfMsgOrEvent, PermanentError, RateLimited, WeComClient
from bot.transports.wecom.results import KfOrigin, KfServiceState
from tests.wecom.conftest import Receiver
from tests.wecom.fake_base import KF_BAD_EVENT_CODE, KF_BAD_TOKEN, KF_COUNT_USED, KF_NOT_API_STATE, KF_OUTSIDE_WINDOW
from tests.wecom.fake_server import FakeWeCom

CUSTOMER = "wmCUSTOMER"


async def account(fake: FakeWeCom) -> str:
    return fake.kf.add_account("童趣优课小助手")


def latest_token(receiver: Receiver) -> str:
    """The Token of the last kf news that reached our callback URL (what the transport syncs with)."""
    news = receiver.of(KfMsgOrEvent)[-1]
    assert isinstance(news, KfMsgOrEvent)
    return news.token


async def test_a_customer_message_is_announced_without_content_and_fetched_by_cursor(
        fake: FakeWeCom, client: WeComClient, receiver: Receiver) -> None:
    kfid = await account(fake)
    await fake.kf.customer_says(kfid, CUSTOMER, "收益")
    [news] = receiver.of(KfMsgOrEvent)
    assert isinstance(news, KfMsgOrEvent) and news.open_kfid == kfid
    assert "收益" not in str(news.raw)
    batch = await client.kf_sync_msg(token=news.token, open_kfid=kfid)
    [message] = batch.messages
    assert (message.external_userid, message.origin, message.text) == (CUSTOMER, KfOrigin.CUSTOMER, "收益")
    await fake.kf.customer_says(kfid, CUSTOMER, "升级")
    later = await client.kf_sync_msg(token=latest_token(receiver), cursor=batch.next_cursor)
    assert [m.text for m in later.messages] == ["升级"]


async def test_sync_pages_with_has_more_and_never_returns_what_the_api_sent(
        fake: FakeWeCom, client: WeComClient, receiver: Receiver) -> None:
    kfid = await account(fake)
    for text in ("一", "二", "三"):
        await fake.kf.customer_says(kfid, CUSTOMER, text)
    await client.kf_send_text(touser=CUSTOMER, open_kfid=kfid, text="您好")
    token = latest_token(receiver)
    first = await client.kf_sync_msg(token=token, limit=2)
    rest = await client.kf_sync_msg(token=token, limit=2, cursor=first.next_cursor)
    assert (first.has_more, rest.has_more) == (True, False)
    assert [m.text for m in first.messages + rest.messages] == ["一", "二", "三"]


async def test_messages_older_than_three_days_are_no_longer_returned(fake: FakeWeCom, client: WeComClient,
                                                                     clock: FixedClock, receiver: Receiver) -> None:
    kfid = await account(fake)
    await fake.kf.customer_says(kfid, CUSTOMER, "旧消息")
    clock.advance(days=3, seconds=1)
    await fake.kf.customer_says(kfid, CUSTOMER, "新消息")
    token = latest_token(receiver)
    assert [m.text for m in (await client.kf_sync_msg(token=token)).messages] == ["新消息"]


async def test_a_sync_token_older_than_ten_minutes_is_refused_and_syncing_without_one_is_held_to_a_low_rate(
        fake: FakeWeCom, client: WeComClient, clock: FixedClock, receiver: Receiver) -> None:
    kfid = await account(fake)
    await fake.kf.customer_says(kfid, CUSTOMER, "在吗")
    token = latest_token(receiver)
    clock.advance(minutes=11)
    with pytest.raises(PermanentError) as stale:
        await client.kf_sync_msg(token=token)
    assert stale.value.code == KF_BAD_TOKEN
    for _ in range(3):
        await client.kf_sync_msg()
    with pytest.raises(RateLimited):
        await client.kf_sync_msg()


async def test_five_answers_per_customer_message_and_a_new_message_allows_five_more(
        fake: FakeWeCom, client: WeComClient) -> None:
    kfid = await account(fake)
    await fake.kf.customer_says(kfid, CUSTOMER, "收益")
    for n in range(5):
        await client.kf_send_text(touser=CUSTOMER, open_kfid=kfid, text=f"第{n + 1}条")
    with pytest.raises(PermanentError) as sixth:
        await client.kf_send_text(touser=CUSTOMER, open_kfid=kfid, text="第6条")
    assert sixth.value.code == KF_COUNT_USED
    await fake.kf.customer_says(kfid, CUSTOMER, "还有吗")
    await client.kf_send_text(touser=CUSTOMER, open_kfid=kfid, text="第6条")
    assert fake.kf.received(CUSTOMER) == [f"第{n}条" for n in range(1, 7)]


async def test_nothing_can_be_sent_48_hours_after_the_customers_last_message(fake: FakeWeCom, client: WeComClient,
                                                                             clock: FixedClock) -> None:
    kfid = await account(fake)
    await fake.kf.customer_says(kfid, CUSTOMER, "收益")
    clock.advance(hours=47, minutes=59)
    await client.kf_send_text(touser=CUSTOMER, open_kfid=kfid, text="本月收益 144.00 元")
    clock.advance(minutes=2)
    with pytest.raises(PermanentError) as closed:
        await client.kf_send_text(touser=CUSTOMER, open_kfid=kfid, text="迟到的消息")
    assert closed.value.code == KF_OUTSIDE_WINDOW
    with pytest.raises(PermanentError) as never:
        await client.kf_send_text(touser="wmNEVERWROTE", open_kfid=kfid, text="你好")
    assert never.value.code == KF_OUTSIDE_WINDOW
    assert fake.kf.received(CUSTOMER) == ["本月收益 144.00 元"]


async def test_a_conversation_with_a_person_cannot_be_answered_by_the_api(fake: FakeWeCom,
                                                                          client: WeComClient) -> None:
    kfid = await account(fake)
    await fake.kf.customer_says(kfid, CUSTOMER, "转人工")
    fake.kf.set_state(kfid, CUSTOMER, 3, servicer="ops1")
    state = await client.kf_service_state(kfid, CUSTOMER)
    assert (state.state, state.servicer_userid, state.api_may_send) == (KfServiceState.HUMAN, "ops1", False)
    with pytest.raises(PermanentError) as refused:
        await client.kf_send_text(touser=CUSTOMER, open_kfid=kfid, text="自动回复")
    assert refused.value.code == KF_NOT_API_STATE


async def test_an_unknown_account_is_refused(fake: FakeWeCom, client: WeComClient) -> None:
    with pytest.raises(PermanentError) as refused:
        await client.kf_send_text(touser=CUSTOMER, open_kfid="wkNOPE", text="你好")
    assert refused.value.code == 95000


async def test_entering_a_session_offers_one_welcome_within_20_seconds(fake: FakeWeCom, client: WeComClient,
                                                                       clock: FixedClock, receiver: Receiver) -> None:
    kfid = await account(fake)
    code = await fake.kf.customer_enters(kfid, CUSTOMER, scene_param="DEMOC001")
    [event] = (await client.kf_sync_msg(token=latest_token(receiver))).messages
    assert (event.origin, event.event["welcome_code"], event.event["scene_param"]) == (KfOrigin.EVENT, code,
                                                                                         "DEMOC001")
    clock.advance(seconds=10)
    await client.kf_send_msg_on_event(code=code, msgtype="text", content={"content": "欢迎来到童趣优课"})
    with pytest.raises(PermanentError) as again:
        await client.kf_send_msg_on_event(code=code, msgtype="text", content={"content": "再次欢迎"})
    assert again.value.code == KF_BAD_EVENT_CODE
    assert fake.kf.received(CUSTOMER) == ["欢迎来到童趣优课"]
    assert await fake.kf.customer_enters(kfid, CUSTOMER) == ""  # contact within 48 h: no second welcome


async def test_an_account_and_its_link_are_made_through_the_api(fake: FakeWeCom, client: WeComClient) -> None:
    avatar = await client.upload_media("image", "avatar.png", b"\x89PNG avatar")
    kfid = await client.kf_add_account(name="童趣优课小助手", media_id=avatar.media_id)
    url = await client.kf_add_contact_way(kfid, scene="DEMOC001")
    assert kfid in fake.kf.accounts and url.startswith("https://work.weixin.qq.com/") and "DEMOC001" in url

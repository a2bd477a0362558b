"""The callback URL as WeCom meets it: the URL check, retries taken once, failures retried,
forged or broken requests refused."""

from __future__ import annotations

import aiohttp

from bot.base.context import FixedClock
from bot.transports.wecom import CallbackCrypto, ExternalContactAdded
from tests.wecom.conftest import Receiver
from tests.wecom.fake_server import AES_KEY, CORP_ID, FakeWeCom

ADDED = ("<xml><ToUserName>{corp}</ToUserName><FromUserName>sys</FromUserName><CreateTime>{time}</CreateTime>"
         "<MsgType>event</MsgType><Event>change_external_contact</Event><ChangeType>add_external_contact"
         "</ChangeType><UserID>helper</UserID><ExternalUserID>wmCUSTOMER</ExternalUserID><State>DEMOC001</State>"
         "</xml>")


def added(clock: FixedClock) -> str:
    return ADDED.format(corp=CORP_ID, time=int(clock.now().timestamp()))


async def post(receiver: Receiver, query: dict[str, str], body: bytes) -> int:
    async with aiohttp.ClientSession() as session, session.post(receiver.url, params=query, data=body) as answer:
        assert await answer.text() == ""
        return answer.status


async def test_wecoms_url_check_gets_the_plaintext_back(fake: FakeWeCom) -> None:
    assert await fake.verify_url("7394827391") == (200, "7394827391")


async def test_a_url_check_signed_with_another_token_is_refused(fake: FakeWeCom, receiver: Receiver,
                                                                clock: FixedClock) -> None:
    forger = CallbackCrypto("another-token", AES_KEY, CORP_ID, clock=clock)
    async with aiohttp.ClientSession() as session, session.get(receiver.url,
                                                                params=forger.url_check("123")) as answer:
        assert (answer.status, await answer.text()) == (400, "")
    assert receiver.endpoint.rejected == 1


async def test_the_same_event_sent_twice_is_taken_once(fake: FakeWeCom, receiver: Receiver,
                                                       clock: FixedClock) -> None:
    sealed = fake.crypto.seal(added(clock))
    assert await post(receiver, sealed.query, sealed.body) == 200
    resealed = fake.crypto.seal(added(clock))  # WeCom's retry, signed anew
    assert await post(receiver, resealed.query, resealed.body) == 200
    assert len(receiver.of(ExternalContactAdded)) == 1
    assert receiver.endpoint.duplicates == 1


async def test_an_event_that_could_not_be_taken_is_answered_500_and_taken_when_wecom_tries_again(
        fake: FakeWeCom, receiver: Receiver) -> None:
    receiver.fail = 1
    await fake.push("change_external_contact", {"ChangeType": "add_external_contact", "UserID": "helper",
                                                "ExternalUserID": "wmCUSTOMER", "State": "DEMOC001"})
    assert [(t.attempt, t.status) for t in fake.callback_tries] == [(1, 500), (2, 200)]
    assert len(receiver.of(ExternalContactAdded)) == 1


async def test_wecom_gives_up_after_three_tries(fake: FakeWeCom, receiver: Receiver) -> None:
    receiver.fail = 5
    await fake.push("change_external_contact", {"ChangeType": "add_external_contact", "UserID": "helper",
                                                "ExternalUserID": "wmCUSTOMER"})
    assert [t.status for t in fake.callback_tries] == [500, 500, 500]
    assert receiver.events == []


async def test_forged_stale_or_foreign_callbacks_are_refused_and_never_delivered(
        fake: FakeWeCom, receiver: Receiver, clock: FixedClock) -> None:
    sealed = fake.crypto.seal(added(clock))
    assert await post(receiver, {**sealed.query, "msg_signature": "0" * 40}, sealed.body) == 400
    foreign = CallbackCrypto(fake.crypto.token, AES_KEY, "wwanothercorp", clock=clock).seal(added(clock))
    assert await post(receiver, foreign.query, foreign.body) == 400
    old = fake.crypto.seal(added(clock), timestamp=str(int(clock.now().timestamp()) - 3600))
    assert await post(receiver, old.query, old.body) == 400
    assert await post(receiver, sealed.query, b"<xml>" + b"x" * 70_000 + b"</xml>") == 413
    assert receiver.events == [] and receiver.endpoint.rejected == 4


async def test_every_callback_the_fake_pushes_is_delivered_decrypted_and_typed(fake: FakeWeCom,
                                                                               receiver: Receiver) -> None:
    fake.contacts.add_staff("helper")
    customer = fake.contacts.add_customer("陈静")
    await fake.contacts.customer_adds(customer, userid="helper")
    chat_id = await fake.groups.create_group("helper", "星火思维1群")
    kfid = fake.kf.add_account("小助手")
    await fake.kf.customer_says(kfid, customer, "你好")
    kinds = [type(e).__name__ for e in receiver.events]
    assert kinds == ["ExternalContactAdded", "ExternalChatChanged", "KfMsgOrEvent"]
    assert len(fake.callbacks) == 3 and all(t.status == 200 for t in fake.callback_tries)
    assert receiver.events[1].raw["ChatId"] == chat_id

"""The fake's contact rules through the real client and callback endpoint: a distributor's code
as ``state``, the 20-second once-only welcome, contact details and media lifetimes."""

from __future__ import annotations

import pytest

from bot.base.context import FixedClock
from bot.transports.wecom import ExternalContactAdded, ExternalContactRemoved, PermanentError, WeComClient
from bot.transports.wecom.results import Attachment, MediaType
from tests.wecom.conftest import Receiver
from tests.wecom.fake_server import FakeWeCom


async def newcomer_through_code(fake: FakeWeCom, client: WeComClient, code: str = "DEMOC001") -> tuple[str, str]:
    fake.contacts.add_staff("helper", "小助手")
    way = await client.add_contact_way(state=code, users=["helper"])
    customer = fake.contacts.add_customer("陈静")
    welcome_code = await fake.contacts.customer_adds(customer, config_id=way.config_id)
    return customer, welcome_code


async def test_a_newcomer_through_a_distributors_code_arrives_with_its_state_and_a_welcome_code(
        fake: FakeWeCom, client: WeComClient, receiver: Receiver) -> None:
    customer, welcome_code = await newcomer_through_code(fake, client)
    [event] = receiver.of(ExternalContactAdded)
    assert isinstance(event, ExternalContactAdded)
    assert (event.external_user_id, event.user_id, event.state, event.welcome_code) == (
        customer, "helper", "DEMOC001", welcome_code)
    details = await client.get_external_contact(customer)
    assert details.name == "陈静"
    assert [(f.userid, f.state) for f in details.follow_users] == [("helper", "DEMOC001")]


async def test_the_welcome_within_20_seconds_reaches_the_newcomer_once(fake: FakeWeCom, client: WeComClient,
                                                                       clock: FixedClock) -> None:
    customer, welcome_code = await newcomer_through_code(fake, client)
    clock.advance(seconds=19)
    await client.send_welcome_msg(welcome_code, text="欢迎加入童趣优课！")
    with pytest.raises(PermanentError) as again:
        await client.send_welcome_msg(welcome_code, text="欢迎加入童趣优课！")
    assert again.value.code == 41051
    assert [(w.external_userid, w.text) for w in fake.contacts.welcomes] == [(customer, "欢迎加入童趣优课！")]


async def test_a_welcome_after_20_seconds_is_refused_and_nothing_reaches_the_newcomer(
        fake: FakeWeCom, client: WeComClient, clock: FixedClock) -> None:
    _customer, welcome_code = await newcomer_through_code(fake, client)
    clock.advance(seconds=21)
    with pytest.raises(PermanentError) as late:
        await client.send_welcome_msg(welcome_code, text="欢迎")
    assert late.value.code == 41051
    assert fake.contacts.welcomes == []


async def test_no_welcome_code_is_offered_when_the_member_had_already_chatted(fake: FakeWeCom,
                                                                              receiver: Receiver) -> None:
    fake.contacts.add_staff("helper")
    customer = fake.contacts.add_customer("张伟")
    fake.contacts.chat_started("helper", customer)
    assert await fake.contacts.customer_adds(customer, userid="helper") == ""
    [event] = receiver.of(ExternalContactAdded)
    assert isinstance(event, ExternalContactAdded) and event.welcome_code == ""


async def test_a_customer_removing_the_member_is_told_and_is_no_contact_after(
        fake: FakeWeCom, client: WeComClient, receiver: Receiver) -> None:
    customer, _ = await newcomer_through_code(fake, client)
    await fake.contacts.customer_removes("helper", customer)
    [removed] = receiver.of(ExternalContactRemoved)
    assert isinstance(removed, ExternalContactRemoved) and removed.by_customer
    with pytest.raises(PermanentError) as gone:
        await client.get_external_contact(customer)
    assert gone.value.code == 84061


async def test_an_unknown_customer_id_is_refused_as_invalid(fake: FakeWeCom, client: WeComClient) -> None:
    with pytest.raises(PermanentError) as refused:
        await client.get_external_contact("wmNOBODY")
    assert refused.value.code == 40096


async def test_a_contact_code_made_by_the_api_can_be_read_changed_and_deleted(fake: FakeWeCom,
                                                                             client: WeComClient) -> None:
    fake.contacts.add_staff("helper")
    way = await client.add_contact_way(state="DEMOC001", users=["helper"], remark="李娜的码")
    assert way.qr_code.startswith("https://")
    await client.update_contact_way(way.config_id, state="DEMOB001")
    assert (await client.get_contact_way(way.config_id)).state == "DEMOB001"
    await client.del_contact_way(way.config_id)
    with pytest.raises(PermanentError):
        await client.get_contact_way(way.config_id)


async def test_a_state_over_30_characters_is_refused_by_wecom_too(fake: FakeWeCom, client: WeComClient) -> None:
    fake.contacts.add_staff("helper")
    with pytest.raises(PermanentError) as refused:
        await client.call("externalcontact/add_contact_way",
                          body={"type": 1, "scene": 2, "state": "X" * 31, "user": ["helper"]}, sends=True)
    assert refused.value.code == 40058


async def test_an_uploaded_image_serves_as_an_attachment_for_three_days_only(
        fake: FakeWeCom, client: WeComClient, clock: FixedClock) -> None:
    upload = await client.upload_media(MediaType.IMAGE, "poster.png", b"\x89PNG fake", content_type="image/png")
    assert upload.media_id and upload.created == clock.now().replace(microsecond=0)
    _customer, first = await newcomer_through_code(fake, client)
    await client.send_welcome_msg(first, text="欢迎", attachments=[Attachment.image(media_id=upload.media_id)])
    clock.advance(days=3)
    second = await fake.contacts.customer_adds(fake.contacts.add_customer("王芳"), userid="helper")
    with pytest.raises(PermanentError) as expired:
        await client.send_welcome_msg(second, text="欢迎", attachments=[Attachment.image(media_id=upload.media_id)])
    assert expired.value.code == 40007
    assert len(fake.contacts.welcomes) == 1

"""The fake's customer groups through the real client: join codes for at most 5 groups, the QR
limit of 200 with a new group opened by WeCom, the join way's state on members, the events."""

from __future__ import annotations

import pytest

from bot.transports.wecom import ExternalChatChanged, PermanentError, WeComClient
from bot.transports.wecom.events import ChatChange, ChatUpdate, JoinScene
from tests.wecom.conftest import Receiver
from tests.wecom.fake_groups import GroupFull
from tests.wecom.fake_server import FakeWeCom


async def brand_group(fake: FakeWeCom) -> str:
    fake.contacts.add_staff("manager", "王经理")
    return await fake.groups.create_group("manager", "星火思维1群")


async def fill(fake: FakeWeCom, config_id: str, count: int) -> list[str]:
    return [await fake.groups.customer_scans(config_id, fake.contacts.add_customer(f"家长{i}")) for i in range(count)]


async def test_customers_joining_by_the_brand_code_carry_its_state_in_the_member_list(
        fake: FakeWeCom, client: WeComClient, receiver: Receiver) -> None:
    chat_id = await brand_group(fake)
    config_id = await client.add_join_way(chat_ids=[chat_id], state="brand:xinghuo", room_base_name="星火思维",
                                          room_base_id=2)
    customer = fake.contacts.add_customer("陈静")
    assert await fake.groups.customer_scans(config_id, customer) == chat_id
    group = await client.get_group_chat(chat_id)
    [member] = [m for m in group.members if m.userid == customer]
    assert (member.state, member.join_scene, member.external, member.name) == ("brand:xinghuo", 3, True, "陈静")
    [joined] = [e for e in receiver.of(ExternalChatChanged) if e.update_detail is ChatUpdate.ADD_MEMBER]
    assert isinstance(joined, ExternalChatChanged)
    assert (joined.chat_id, joined.join_scene, joined.members) == (chat_id, JoinScene.QR_CODE, (customer,))


async def test_a_full_group_rolls_over_to_a_new_one_that_wecom_creates(fake: FakeWeCom, client: WeComClient,
                                                                       receiver: Receiver) -> None:
    first = await brand_group(fake)
    config_id = await client.add_join_way(chat_ids=[first], state="brand:xinghuo", room_base_name="星火思维",
                                          room_base_id=2)
    landed = await fill(fake, config_id, 200)  # the owner + 199 customers reach the QR limit of 200
    assert set(landed[:199]) == {first} and landed[199] != first
    second = landed[199]
    assert len(fake.groups.members(first)) == 200
    assert (await client.get_group_chat(second)).name == "星火思维2"
    assert (await client.get_join_way(config_id)).chat_ids == (first, second)
    created = [e for e in receiver.of(ExternalChatChanged) if e.change_type is ChatChange.CREATE]
    assert [e.chat_id for e in created if isinstance(e, ExternalChatChanged)][-1] == second
    groups = await client.list_group_chats(owners=["manager"])
    assert [g.chat_id for g in groups.items] == [first, second]


async def test_a_join_way_that_may_not_create_groups_turns_people_away_when_full(fake: FakeWeCom,
                                                                                 client: WeComClient) -> None:
    chat_id = await brand_group(fake)
    config_id = await client.add_join_way(chat_ids=[chat_id], auto_create_room=False)
    await fill(fake, config_id, 199)
    with pytest.raises(GroupFull):
        await fake.groups.customer_scans(config_id, fake.contacts.add_customer("迟到的家长"))


async def test_wecom_refuses_a_join_way_for_more_than_five_groups(fake: FakeWeCom, client: WeComClient) -> None:
    fake.contacts.add_staff("manager")
    chats = [await fake.groups.create_group("manager", f"群{i}") for i in range(6)]
    with pytest.raises(PermanentError) as refused:
        await client.call("externalcontact/groupchat/add_join_way",
                          body={"scene": 2, "chat_id_list": chats, "auto_create_room": 1}, sends=True)
    assert refused.value.code == 40058
    config_id = await client.add_join_way(chat_ids=chats[:5])
    await client.update_join_way(config_id, chat_ids=chats[1:], state="brand:new")
    way = await client.get_join_way(config_id)
    assert (way.chat_ids, way.state) == (tuple(chats[1:]), "brand:new")
    await client.del_join_way(config_id)
    with pytest.raises(PermanentError):
        await client.get_join_way(config_id)


async def test_a_member_leaving_is_an_event_and_gone_from_the_member_list(fake: FakeWeCom, client: WeComClient,
                                                                          receiver: Receiver) -> None:
    chat_id = await brand_group(fake)
    customer = fake.contacts.add_customer("陈静")
    await fake.groups.invite(chat_id, [customer], invitor="manager")
    await fake.groups.leave(chat_id, customer)
    left = [e for e in receiver.of(ExternalChatChanged) if e.update_detail is ChatUpdate.DEL_MEMBER]
    assert [(e.chat_id, e.members) for e in left if isinstance(e, ExternalChatChanged)] == [(chat_id, (customer,))]
    assert customer not in [m.userid for m in (await client.get_group_chat(chat_id)).members]


async def test_listing_all_groups_without_an_owner_is_refused_when_over_1000_members_are_visible(
        fake: FakeWeCom, client: WeComClient) -> None:
    await brand_group(fake)
    assert len((await client.list_group_chats()).items) == 1
    fake.groups.visible_staff = 1000
    with pytest.raises(PermanentError) as refused:
        await client.list_group_chats()
    assert refused.value.code == 81017
    assert len((await client.list_group_chats(owners=["manager"])).items) == 1


async def test_group_lists_page_by_cursor(fake: FakeWeCom, client: WeComClient) -> None:
    fake.contacts.add_staff("manager")
    chats = [await fake.groups.create_group("manager", f"群{i}") for i in range(5)]
    first = await client.list_group_chats(owners=["manager"], limit=3)
    rest = await client.list_group_chats(owners=["manager"], limit=3, cursor=first.next_cursor)
    assert [g.chat_id for g in first.items + rest.items] == chats and rest.last and not first.last

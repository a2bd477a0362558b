"""Decrypted callback XML → typed events, and the key that recognises WeCom's retries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.transports.wecom import (
    ExternalChatChanged,
    ExternalContactAdded,
    ExternalContactChanged,
    ExternalContactRemoved,
    KfMsgOrEvent,
    MalformedCallback,
    OtherCallback,
    parse_event,
)
from bot.transports.wecom.events import ChatChange, ChatUpdate, ContactChange, JoinScene, QuitScene


def xml(**values: str) -> str:
    head = {"ToUserName": "wwcorp", "FromUserName": "sys", "CreateTime": "1764036000", "MsgType": "event"}
    return "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in {**head, **values}.items()) + "</xml>"


def contact(change: str, **extra: str) -> str:
    return xml(Event="change_external_contact", ChangeType=change, UserID="helper", ExternalUserID="wmCUSTOMER",
               **extra)


def test_a_new_contact_through_a_code_carries_its_state_and_welcome_code() -> None:
    event = parse_event(contact("add_external_contact", State="DEMOC001", WelcomeCode="WELCOME1"))
    assert isinstance(event, ExternalContactAdded)
    assert (event.user_id, event.external_user_id, event.state, event.welcome_code) == (
        "helper", "wmCUSTOMER", "DEMOC001", "WELCOME1")
    assert event.change_type is ContactChange.ADD
    assert event.created == datetime(2025, 11, 25, 2, 0, tzinfo=UTC)


def test_a_contact_without_a_welcome_code_has_an_empty_one() -> None:
    event = parse_event(contact("add_external_contact"))
    assert isinstance(event, ExternalContactAdded)
    assert (event.state, event.welcome_code) == ("", "")


def test_the_customer_removing_the_member_is_told_apart_from_the_member_removing_the_customer() -> None:
    by_customer = parse_event(contact("del_follow_user"))
    by_member = parse_event(contact("del_external_contact"))
    assert isinstance(by_customer, ExternalContactRemoved) and by_customer.by_customer
    assert isinstance(by_member, ExternalContactRemoved) and not by_member.by_customer


def test_other_contact_changes_are_kept_with_an_unknown_change_type_as_other() -> None:
    edited = parse_event(contact("edit_external_contact"))
    novel = parse_event(contact("some_future_change"))
    assert isinstance(edited, ExternalContactChanged) and edited.change_type is ContactChange.EDIT
    assert isinstance(novel, ExternalContactChanged) and novel.change_type is ContactChange.OTHER


def test_members_joining_a_customer_group_by_qr_code_are_listed_with_the_versions() -> None:
    message = ("<xml><ToUserName>wwcorp</ToUserName><FromUserName>sys</FromUserName><CreateTime>1764036000"
               "</CreateTime><MsgType>event</MsgType><Event>change_external_chat</Event><ChatId>wrGROUP</ChatId>"
               "<ChangeType>update</ChangeType><UpdateDetail>add_member</UpdateDetail><JoinScene>3</JoinScene>"
               "<MemChangeCnt>2</MemChangeCnt><MemChangeList><Item>wmA</Item><Item>wmB</Item></MemChangeList>"
               "<LastMemVer>v1</LastMemVer><CurMemVer>v2</CurMemVer></xml>")
    event = parse_event(message)
    assert isinstance(event, ExternalChatChanged)
    assert (event.chat_id, event.change_type, event.update_detail) == ("wrGROUP", ChatChange.UPDATE,
                                                                       ChatUpdate.ADD_MEMBER)
    assert (event.join_scene, event.quit_scene, event.member_change_count) == (JoinScene.QR_CODE, None, 2)
    assert event.members == ("wmA", "wmB")
    assert (event.last_member_version, event.member_version) == ("v1", "v2")


def test_a_member_removed_from_a_group_says_so_and_an_event_without_the_list_has_none() -> None:
    event = parse_event(xml(Event="change_external_chat", ChatId="wrGROUP", ChangeType="update",
                            UpdateDetail="del_member", QuitScene="1", MemChangeCnt="1"))
    assert isinstance(event, ExternalChatChanged)
    assert (event.update_detail, event.quit_scene, event.members) == (ChatUpdate.DEL_MEMBER, QuitScene.REMOVED, ())


def test_a_dismissed_group_and_an_unknown_detail_parse_without_guessing() -> None:
    dismissed = parse_event(xml(Event="change_external_chat", ChatId="wrGROUP", ChangeType="dismiss"))
    novel = parse_event(xml(Event="change_external_chat", ChatId="wrGROUP", ChangeType="update",
                            UpdateDetail="change_avatar", JoinScene="9"))
    assert isinstance(dismissed, ExternalChatChanged) and dismissed.change_type is ChatChange.DISMISS
    assert dismissed.update_detail is ChatUpdate.NONE and dismissed.member_change_count == 0
    assert isinstance(novel, ExternalChatChanged)
    assert (novel.update_detail, novel.join_scene) == (ChatUpdate.OTHER, None)


def test_customer_service_news_carries_the_token_and_account_but_no_content() -> None:
    event = parse_event("<xml><ToUserName>wwcorp</ToUserName><CreateTime>1764036000</CreateTime><MsgType>event"
                        "</MsgType><Event>kf_msg_or_event</Event><Token>ENCtoken</Token><OpenKfId>wkACCOUNT</OpenKfId>"
                        "</xml>")
    assert isinstance(event, KfMsgOrEvent)
    assert (event.token, event.open_kfid) == ("ENCtoken", "wkACCOUNT")


def test_anything_else_is_kept_as_another_callback() -> None:
    event = parse_event(xml(MsgType="text", Content="hi", MsgId="4363689963896700987"))
    assert isinstance(event, OtherCallback) and event.raw["Content"] == "hi"


@pytest.mark.parametrize("message, missing", [
    (xml(Event="change_external_chat", ChangeType="create"), "ChatId"),
    (xml(Event="change_external_contact", ChangeType="add_external_contact", UserID="helper"), "ExternalUserID"),
    (xml(Event="kf_msg_or_event", OpenKfId="wk"), "Token"),
    (xml(Event="change_external_chat", ChatId="wr", MemChangeCnt="two"), "MemChangeCnt"),
])
def test_an_event_without_what_its_kind_needs_is_refused(message: str, missing: str) -> None:
    with pytest.raises(MalformedCallback, match=missing):
        parse_event(message)


def test_a_callback_time_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(MalformedCallback, match="CreateTime"):
        parse_event(xml(CreateTime="yesterday", Event="x"))


def test_a_retried_event_has_the_same_key_and_distinct_changes_in_one_second_do_not() -> None:
    first = parse_event(contact("add_external_contact", State="A", WelcomeCode="W1"))
    retry = parse_event(contact("add_external_contact", State="A", WelcomeCode="W1"))
    other_customer = parse_event(xml(Event="change_external_contact", ChangeType="add_external_contact",
                                     UserID="helper", ExternalUserID="wmSOMEONE"))
    removed = parse_event(contact("del_follow_user"))
    assert first.dedupe_key == retry.dedupe_key
    assert len({first.dedupe_key, other_customer.dedupe_key, removed.dedupe_key}) == 3


def test_group_events_of_two_groups_or_two_changes_in_one_second_have_distinct_keys() -> None:
    joined = parse_event(xml(Event="change_external_chat", ChatId="wr1", ChangeType="update",
                             UpdateDetail="add_member", CurMemVer="v2"))
    left = parse_event(xml(Event="change_external_chat", ChatId="wr1", ChangeType="update",
                           UpdateDetail="del_member", CurMemVer="v3"))
    elsewhere = parse_event(xml(Event="change_external_chat", ChatId="wr2", ChangeType="update",
                                UpdateDetail="add_member", CurMemVer="v2"))
    assert len({joined.dedupe_key, left.dedupe_key, elsewhere.dedupe_key}) == 3


def test_a_message_with_a_msgid_is_keyed_by_it() -> None:
    assert parse_event(xml(MsgType="text", MsgId="42")).dedupe_key == "msg:42"

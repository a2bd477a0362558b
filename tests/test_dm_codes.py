"""Codes and joining by private message: "邀请码", "注册 <code>", a friend request carrying a
code, "申请 <friends> <groups>" — asserted on the texts people receive and the rows written."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.base.transport import FriendRequest
from handlers.codes import registration_code
from models import Distributor, EntryApplication, PlatformCode
from tests.dm_support import dm, last_id, outbox, run, texts_to
from tests.support import START, edited_settings, running_services

C_CANNOT_RECRUIT = ("- {code: C, name: 推广员}", "- {code: C, name: 推广员, can_recruit: false}")


async def person(services, contact: str) -> Distributor | None:
    async with services.db.reading() as session:
        return await session.scalar(select(Distributor).where(Distributor.contact_id == contact))


async def code_of(services, code: str) -> int:
    async with services.db.reading() as session:
        return (await session.scalar(select(Distributor.id).where(Distributor.code == code))) or 0


async def issue(services, code: str) -> None:
    async with services.db.unit_of_work() as session:
        session.add(PlatformCode(code=code, issued_at=START))


# --- "邀请码" ----------------------------------------------------------------------------------------


async def test_a_distributor_asking_for_the_invite_code_gets_their_personal_code(services):
    await run(services, dm("wx-wangfang", "邀请码"))

    [reply] = await outbox(services)
    assert reply.text.startswith("你的邀请码：DEMOB001\n朋友加小助手好友时在验证消息里写上它")


async def test_a_distributor_whose_level_may_not_recruit_is_told_so_and_how_to_get_there(databases, dialect):
    async with running_services(databases, dialect, edited_settings(C_CANNOT_RECRUIT)) as services:
        await run(services, dm("wx-lina", "我的邀请码"))

        [reply] = await outbox(services)
        assert reply.text == (
            "你现在的级别（推广员）还不能邀请新分销员，升到主管或合伙人就有邀请码啦。发送“升级”看看还差什么。"
        )


async def test_someone_not_yet_a_distributor_asking_about_codes_or_joining_is_told_how_to_join_once(services):
    await run(services, *(dm("wx-stranger", t) for t in ("邀请码", "邀请码是什么？", "怎么注册", "我想做分销")))

    replies = await outbox(services)
    assert [r.template for r in replies] == ["how_to_join"]  # four ways of asking, one answer
    assert replies[0].text.startswith("你还不是童趣优课的分销员，加入的方法：\n· 有邀请码：发送“注册 邀请码”")


# --- "注册 <code>" -----------------------------------------------------------------------------------


async def test_registering_with_a_personal_code_makes_its_owner_the_recruiter_and_welcomes_the_new_distributor(
    services,
):
    await run(services, dm("wx-chenjing", "注册 democ001", name="陈静"))

    new = await person(services, "wx-chenjing")
    assert new is not None
    assert (new.name, new.level, new.entry_path, new.helper_account, new.status) == (
        "陈静",
        "C",
        "code",
        "helper",
        "active",
    )
    assert new.recruiter_id == await code_of(services, "DEMOC001")
    assert len(new.code) == 8 and new.code.isalnum()
    rows = await outbox(services)
    [welcome] = texts_to(rows, "wx-chenjing")
    assert welcome.startswith("🎉 欢迎加入童趣优课，陈静！你现在是推广员（C），邀请人：李娜。")
    assert f"你的邀请码（也是推广码）：{new.code}" in welcome
    [invitation] = [r for r in rows if r.kind in ("room_add", "room_invite")]
    assert (invitation.kind, invitation.target, invitation.payload) == (
        "room_add",
        "wx-chenjing",
        {"room": "room-material"},
    )
    assert texts_to(rows, "wx-lina") == ["🎉 陈静 用你的邀请码加入了童趣优课，成为你邀请的分销员。"]


async def test_a_single_use_platform_code_is_consumed_and_refused_the_second_time(services):
    await issue(services, "K7M2P9QXRT")

    await run(services, dm("wx-chenjing", "注册：k7m2 p9qx rt"), dm("wx-zhouyu", "注册 K7M2P9QXRT"))

    first = await person(services, "wx-chenjing")
    assert first is not None and first.recruiter_id is None
    async with services.db.reading() as session:
        code = await session.get(PlatformCode, "K7M2P9QXRT")
    assert code is not None and (code.used_by, code.used_at) == (first.id, START)
    assert await person(services, "wx-zhouyu") is None
    rows = await outbox(services)
    assert "邀请人" not in texts_to(rows, "wx-chenjing")[0]
    assert texts_to(rows, "wx-zhouyu") == [
        "邀请码 K7M2P9QXRT 已经被使用过了：平台邀请码只能用一次，请向邀请你的人要一个新的。"
    ]


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("注册 NOPE1234", "没有找到邀请码 NOPE1234，请核对后再发（字母不分大小写）。"),
        ("注册 ab", "“ab”不像邀请码：邀请码是 6–16 位字母和数字，例如“注册 ABCD2345”。"),
        ("注册", "请在“注册”后面加上邀请码，例如“注册 ABCD2345”。"),
    ],
)
async def test_unknown_malformed_and_missing_codes_each_get_a_clear_answer(services, text, answer):
    await run(services, dm("wx-chenjing", text))

    assert texts_to(await outbox(services), "wx-chenjing") == [answer]
    assert await person(services, "wx-chenjing") is None


async def test_a_code_whose_owner_may_not_recruit_is_refused(databases, dialect):
    async with running_services(databases, dialect, edited_settings(C_CANNOT_RECRUIT)) as services:
        await run(services, dm("wx-chenjing", "注册 DEMOC001"))

        assert texts_to(await outbox(services), "wx-chenjing") == [
            "邀请码 DEMOC001 的主人目前的级别还不能邀请新分销员，请换一个邀请码。"
        ]
        assert await person(services, "wx-chenjing") is None


async def test_a_distributor_registering_again_is_told_they_already_are_one(services):
    await run(services, dm("wx-lina", "注册 DEMOB001"))

    [reply] = await outbox(services)
    assert reply.text == "你已经是分销员了，不用再注册～ 你的邀请码是 DEMOC001。"


async def test_a_guest_sending_just_a_code_in_capitals_is_registered_with_it(services):
    await run(services, dm("wx-chenjing", "DEMOB001"), dm("wx-zhouyu", "hello123"))

    new = await person(services, "wx-chenjing")
    assert new is not None and new.recruiter_id == await code_of(services, "DEMOB001")
    assert await person(services, "wx-zhouyu") is None  # lower-case chat is not taken for a code


async def test_five_wrong_codes_in_ten_minutes_make_the_person_wait_even_with_a_good_code(services):
    await run(services, *(dm("wx-chenjing", f"注册 WRONG00{i}") for i in range(5)))
    mark = await last_id(services)
    services.clock.advance(minutes=4)
    await run(services, dm("wx-chenjing", "注册 DEMOC001"))
    waited = await outbox(services, since=mark)
    services.clock.advance(minutes=7)
    await run(services, dm("wx-chenjing", "注册 DEMOC001"))

    assert texts_to(waited, "wx-chenjing") == [
        "邀请码输错的次数有点多，请在 10:10 之后再试。如果确定没输错，请联系邀请你的人确认一下。"
    ]
    assert await person(services, "wx-chenjing") is not None  # after the ten minutes


async def test_wrong_codes_from_one_person_do_not_hold_back_another(services):
    await run(services, *(dm("wx-chenjing", f"注册 WRONG00{i}") for i in range(5)), dm("wx-zhouyu", "注册 DEMOC001"))

    assert await person(services, "wx-zhouyu") is not None


# --- friend requests carrying a code -------------------------------------------------------------------


async def test_a_friend_request_with_a_code_is_accepted_and_the_person_registered_and_welcomed(services):
    request = FriendRequest("fr-1", "wx-chenjing", "陈静", "你好，我是陈静，邀请码 democ002", START)

    await run(services, request, request)  # delivered twice

    new = await person(services, "wx-chenjing")
    assert new is not None and new.recruiter_id == await code_of(services, "DEMOC002")
    rows = await outbox(services)
    assert [(r.kind, r.target) for r in rows] == [
        ("friend_accept", "fr-1"),
        ("text", "wx-chenjing"),
        ("room_add", "wx-chenjing"),
        ("text", "wx-zhangwei"),
    ]
    assert rows[1].text.startswith("🎉 欢迎加入童趣优课，陈静！你现在是推广员（C），邀请人：张伟。")


async def test_a_friend_request_accepted_for_a_keyword_gets_the_how_to_join_answer(services):
    await run(services, FriendRequest("fr-2", "wx-chenjing", "陈静", "想做分销", START))

    rows = await outbox(services)
    assert [(r.kind, r.template) for r in rows] == [("friend_accept", ""), ("text", "how_to_join")]
    assert await person(services, "wx-chenjing") is None


async def test_a_friend_request_from_a_stranger_without_code_or_keyword_registers_nobody(services):
    await run(services, FriendRequest("fr-3", "wx-chenjing", "陈静", "加个好友", START))

    assert [(r.target, r.template) for r in await outbox(services)] == [("ops-xiaomei", "friend_request_ops")]


# --- "申请 <friends> <groups>": entry by declared reach -----------------------------------------------


async def test_an_application_by_reach_waits_for_ops_who_hear_of_it(services):
    await run(services, dm("wx-chenjing", "申请 500 3", name="陈静"))
    services.clock.advance(minutes=1)
    await run(services, dm("wx-chenjing", "申请 600 3", name="陈静"))

    rows = await outbox(services)
    assert texts_to(rows, "wx-chenjing") == [
        "已收到你的申请（微信好友 500 人、群 3 个），运营审核后会通知你。",
        "你的申请正在审核中，运营审核后会通知你，请耐心等待～",
    ]
    assert texts_to(rows, "ops-xiaomei") == [
        "📝 新的分销员申请：陈静（wx-chenjing），微信好友 500 人、群 3 个，等待审核。"
    ]
    async with services.db.reading() as session:
        [application] = await session.scalars(select(EntryApplication))
    assert (application.contact_id, application.status, application.declared_friends) == ("wx-chenjing", "pending", 500)


async def test_an_application_below_the_minimums_or_malformed_gets_a_clear_answer(services):
    await run(services, dm("wx-chenjing", "申请 100 1"))
    services.clock.advance(minutes=1)
    await run(services, dm("wx-chenjing", "申请"))

    assert texts_to(await outbox(services), "wx-chenjing") == [
        "你填写的好友 100 人、群 1 个还不够申请：好友需满 300 人，或群需满 2 个。"
        "有邀请码的话，发送“注册 邀请码”即可加入。",
        "请按“申请 微信好友数 群数”发送，例如“申请 500 3”。",
    ]


async def test_without_review_a_reach_application_registers_at_once(databases, dialect):
    settings = edited_settings(("review: true}", "review: false}"))
    async with running_services(databases, dialect, settings) as services:
        await run(services, dm("wx-chenjing", "申请 500 3", name="陈静"))

        new = await person(services, "wx-chenjing")
        assert new is not None and (new.entry_path, new.recruiter_id) == ("reach", None)
        assert texts_to(await outbox(services), "wx-chenjing")[0].startswith("🎉 欢迎加入童趣优课，陈静！")


# --- reading a code out of a message ----------------------------------------------------------------------


def test_a_code_is_read_after_register_or_invite_code_or_alone_in_capitals_from_a_guest():
    assert registration_code("注册：democ001", guest=False) == "democ001"
    assert registration_code("注册", guest=True) == ""
    assert registration_code("邀请码是 ＡＢＣＤ２３４５", guest=False) == "ABCD2345"
    assert registration_code("邀请码", guest=True) is None
    assert registration_code("邀请码是什么", guest=True) is None
    assert registration_code("注册一下", guest=True) == ""
    assert registration_code("DEMOC001", guest=True) == "DEMOC001"
    assert registration_code("DEMOC001", guest=False) is None
    assert registration_code("hello123", guest=True) is None
    assert registration_code("我想注册", guest=True) is None

"""Handlers on a transport with WeCom's capabilities (asked of ``capabilities``, never of the
name): a brand keyword is answered with the brand's join code instead of an add, a
distributor's code comes with a 联系我 code of its own, and a contact who added the helper by
such a code is registered as that distributor's recruit with nothing queued to accept."""

from __future__ import annotations

from sqlalchemy import select

from bot.base.transport import FriendRequest
from bot.transports.wecom_transport import WECOM
from models import Distributor, FriendRequestRecord, TransportCode
from tests.dm_support import dm, outbox, run
from tests.fakes import FakeTransport
from tests.support import START


def wecom_like() -> FakeTransport:
    return FakeTransport(capabilities=WECOM)


async def test_a_brand_keyword_gets_the_brands_join_code_and_nobody_is_added(services):
    transport = wecom_like()

    await run(services, dm("wx-lina", "数学"), dm("wx-zhangwei", "我想进星火思维的群"), transport=transport)

    rows = await outbox(services)
    assert [r.kind for r in rows] == ["text", "text"]  # no room_add, no room_invite
    for row in rows:
        assert row.text.startswith("星火思维推广群：扫码或点开链接就能进群")
        assert "https://join.example/xinghuo" in row.text
    [made] = [s for s in transport.sent if s.kind == "join_code"]  # made once, then kept
    assert made.target == "room-xinghuo-1,room-xinghuo-2"
    async with services.db.reading() as session:
        [code] = list(await session.scalars(select(TransportCode)))
    assert (code.kind, code.key, code.url) == ("join", "xinghuo", "https://join.example/xinghuo")


async def test_a_distributor_asking_for_their_code_also_gets_a_contact_code_carrying_it(services):
    transport = wecom_like()

    await run(services, dm("wx-wangfang", "邀请码"), transport=transport)

    [reply] = await outbox(services)
    assert reply.text.startswith("你的邀请码：DEMOB001\n你的专属二维码：https://contact.example/DEMOB001")
    assert [(s.kind, s.target) for s in transport.sent] == [("contact_code", "DEMOB001")]


async def test_on_personal_wechat_the_same_requests_add_and_explain_as_before(services):
    await run(services, dm("wx-lina", "数学"), dm("wx-wangfang", "邀请码"))

    rows = await outbox(services)
    assert [r.kind for r in rows] == ["room_add", "text", "text"]
    assert "专属二维码" not in rows[2].text


async def test_a_contact_added_by_a_distributors_code_is_their_recruit_and_nothing_waits_to_be_accepted(services):
    added = FriendRequest("wecom-add:helper:wm-new:1", "wm-new", "陈静", "DEMOC001", START)

    await run(services, added, transport=wecom_like())

    rows = await outbox(services)
    assert "friend_accept" not in [r.kind for r in rows]
    async with services.db.reading() as session:
        record = await session.get(FriendRequestRecord, added.id)
        person = await session.scalar(select(Distributor).where(Distributor.contact_id == "wm-new"))
        recruiter = await session.scalar(select(Distributor).where(Distributor.code == "DEMOC001"))
    assert record is not None and (record.status, record.reason) == ("accepted", "code")
    assert person is not None and recruiter is not None and person.recruiter_id == recruiter.id

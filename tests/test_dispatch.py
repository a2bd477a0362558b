"""Incoming events through the router and dispatcher: who answers, in which transaction,
and what happens when a handler breaks."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

import handlers
from bot.base.transport import FriendRequest, Message, RoomJoin
from bot.runtime.dispatch import Dispatcher
from bot.runtime.middleware import AnswerLimiter
from bot.runtime.router import Router, keyword, private
from models import FriendRequestRecord, OutboxMessage, RoomMember
from tests.fakes import FakeTransport
from tests.support import START


def dm(sender: str, text: str, n: int = 0, room: str | None = None, **extra) -> Message:
    return Message(id=f"{sender}-{n}", sender=sender, sender_name=sender, text=text, at=START, room=room, **extra)


async def outbox(services) -> list[OutboxMessage]:
    async with services.db.reading() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def running(services, routers=None, transport=None) -> Dispatcher:
    dispatcher = Dispatcher(services, routers or handlers.ROUTERS, transport or FakeTransport())
    dispatcher.start()
    return dispatcher


async def test_help_in_a_dm_is_answered_with_the_brand_menu_and_its_keywords(services):
    dispatcher = await running(services)

    await dispatcher.submit(dm("wx-lina", "帮助"))
    await dispatcher.stop()

    [reply] = await outbox(services)
    assert (reply.target, reply.target_is_room, reply.template) == ("wx-lina", False, "menu")
    assert "发送“数学”" in reply.text and "发送“阅读”" in reply.text and "发送“科学”" in reply.text


async def test_full_width_and_upper_case_keywords_match_like_their_plain_forms(services):
    router = Router("t")
    seen: list[str] = []

    @router.message(private, keyword("abc 数学"))
    async def hit(ctx):
        seen.append(ctx.message.text)

    dispatcher = await running(services, [router])
    await dispatcher.submit(dm("wx-lina", "我想要 ＡＢＣ数学 的群"))
    await dispatcher.stop()

    assert seen == ["我想要 ＡＢＣ数学 的群"]


async def test_a_group_message_that_does_not_mention_the_helper_gets_no_answer(services):
    dispatcher = await running(services)

    await dispatcher.submit(dm("wx-lina", "大家好", room="room-xinghuo-1"))
    await dispatcher.submit(dm("wx-lina", "@小助手 你好", n=1, room="room-xinghuo-1", mentions_self=True))
    await dispatcher.stop()

    [reply] = await outbox(services)
    assert (reply.target, reply.target_is_room, reply.payload) == ("room-xinghuo-1", True, {"mentions": ["wx-lina"]})


async def test_a_handler_that_raises_costs_only_its_own_message_and_the_person_gets_a_polite_answer(services, caplog):
    router = Router("t")

    @router.message(private, keyword("坏"))
    async def broken(ctx):
        ctx.reply("menu", {"platform": "x", "brands": []})  # written, then rolled back
        raise RuntimeError("boom")

    @router.message(private)
    async def fine(ctx):
        ctx.reply("error_fallback", {})

    dispatcher = await running(services, [router])
    await asyncio.gather(*(dispatcher.submit(dm(f"p{i}", "坏" if i == 3 else "好")) for i in range(8)))
    await dispatcher.stop()

    rows = await outbox(services)
    assert sorted(r.target for r in rows) == [f"p{i}" for i in range(8)]
    assert [r.template for r in rows if r.target == "p3"] == ["error_fallback"]
    assert "handler t.broken failed on Message from p3" in caplog.text
    assert dispatcher.failed == 1


async def test_messages_waiting_together_are_committed_in_one_transaction(services):
    commits = 0
    from sqlalchemy import event

    def count(*_):
        nonlocal commits
        commits += 1

    event.listen(services.db.engine.sync_engine, "commit", count)
    dispatcher = await running(services)

    await asyncio.gather(*(dispatcher.submit(dm(f"p{i}", "帮助")) for i in range(50)))
    await dispatcher.stop()

    assert len(await outbox(services)) == 50
    assert commits <= 2


async def test_someone_flooding_the_helper_is_answered_up_to_the_limit_then_told_once_to_try_later(services):
    limiter = AnswerLimiter.for_env(services, person=3)
    dispatcher = Dispatcher(services, handlers.ROUTERS, FakeTransport(), middlewares=[limiter])
    dispatcher.start()

    for i, text in enumerate(["帮助", "收益", "升级", "邀请码", "好的", "你好", "谢谢", "收益", "帮助", "在吗"]):
        await dispatcher.submit(dm("wx-lina", text, n=i))
    await dispatcher.stop()

    texts = [r for r in await outbox(services) if r.kind == "text"]
    assert [r.template for r in texts] == ["menu", "earnings_dm", "progress_dm", "answer_later"]
    assert texts[-1].text == "消息有点多，请 60 秒后再试～"


async def test_a_join_naming_one_person_records_everyone_from_the_member_list(services):
    transport = FakeTransport(members={"room-xinghuo-1": ["helper", "a", "b", "c"]})
    dispatcher = await running(services, transport=transport)

    await dispatcher.submit(RoomJoin(room="room-xinghuo-1", named=("a",), at=START))
    await dispatcher.stop()

    async with services.db.reading() as session:
        members = set(
            await session.scalars(select(RoomMember.contact_id).where(RoomMember.room_id == "room-xinghuo-1"))
        )
    assert members == {"helper", "a", "b", "c"}


async def test_friend_requests_with_a_code_or_keyword_are_accepted_and_others_wait_for_ops(services):
    dispatcher = await running(services)
    requests = [
        FriendRequest("r1", "new-1", "小王", "你好，邀请码 democ001", START),
        FriendRequest("r2", "new-2", "小李", "想做分销", START + timedelta(seconds=1)),
        FriendRequest("r3", "new-3", "推销", "加个好友", START + timedelta(seconds=2)),
    ]

    for request in requests:
        await dispatcher.submit(request)
    await dispatcher.submit(requests[0])  # delivered twice
    await dispatcher.stop()

    async with services.db.reading() as session:
        decided = dict((await session.execute(select(FriendRequestRecord.id, FriendRequestRecord.status))).all())
        accepts = await session.scalar(select(func.count()).where(OutboxMessage.kind == "friend_accept"))
    assert decided == {"r1": "accepted", "r2": "accepted", "r3": "pending"}
    assert accepts == 2


async def test_a_busy_group_still_takes_the_managers_command_though_the_bot_answers_less(services):
    from models import Course

    limiter = AnswerLimiter.for_env(services, room=5)
    dispatcher = Dispatcher(services, handlers.ROUTERS, FakeTransport(), middlewares=[limiter])
    dispatcher.start()
    for i in range(40):  # a burst of chatter in the group
        await dispatcher.submit(dm(f"parent-{i}", "排行榜", n=i, room="room-xinghuo-1"))
    await dispatcher.submit(dm("mgr-zhaolin", "库存 XH-MATH-S1 50", n=99, room="room-xinghuo-1"))
    await dispatcher.stop()

    async with services.db.reading() as session:
        assert await session.scalar(select(Course.stock).where(Course.sku == "XH-MATH-S1")) == 50
        answers = await session.scalar(
            select(func.count()).where(OutboxMessage.target == "room-xinghuo-1", OutboxMessage.kind == "text")
        )
    assert answers <= 1 + 5  # the board posted once, then at most the room's 5 answers (of 41 messages)


async def test_a_managers_group_command_that_breaks_gets_a_polite_answer_in_the_group(services):
    router = Router("t")

    @router.message(lambda ctx: ctx.message.room is not None)
    async def broken(ctx):
        raise RuntimeError("boom")

    dispatcher = await running(services, [router])
    await dispatcher.submit(dm("mgr-zhaolin", "开始接龙", room="room-xinghuo-1"))
    await dispatcher.submit(dm("wx-lina", "随便聊聊", n=1, room="room-xinghuo-1"))
    await dispatcher.stop()

    [reply] = await outbox(services)
    assert (reply.target, reply.template) == ("room-xinghuo-1", "error_fallback")

"""A newcomer's whole journey through the simulator, every text the helper sends asserted:
a friend request with a code → brand keyword → group join → orders relayed during a push →
threshold red packet → leaderboard → earnings and progress DMs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

import handlers
from bot.base.config import RateLimits
from bot.runtime.dispatch import Dispatcher
from bot.runtime.sender import OutboxSender
from bot.transports.sim import SimTransport
from models import Distributor, RedPacket
from tests.support import START, order_event, post_event

pytestmark = pytest.mark.wall_clock  # the whole bot but the web server, through the simulator
INSTANT = RateLimits(account_interval_seconds=Decimal(0), room_interval_seconds=Decimal(0), jitter_seconds=Decimal(0))


class World:
    """The simulator, the dispatcher and a sender with no pauses, settled after each step."""

    def __init__(self, services, journal):
        self.transport = SimTransport.from_settings(services.settings, journal, clock=services.clock.now)
        self.world = self.transport.world
        self.dispatcher = Dispatcher(services, handlers.ROUTERS, self.transport)
        self.sender = OutboxSender(services, self.transport, INSTANT)
        self.seen: dict[str, int] = {}

    async def start(self):
        self.dispatcher.start()
        await self.transport.start(self.dispatcher.submit)

    async def stop(self):
        await self.transport.stop()
        await self.dispatcher.stop()

    async def settle(self):
        """Deliver everything, send everything, until nothing moves."""
        for _ in range(50):
            await self.transport.idle()
            if await self.sender.send_next() is None:
                await self.transport.idle()
                if await self.sender.send_next() is None:
                    return
        raise AssertionError("the bot did not settle")

    async def says(self, sender: str, text: str, room: str | None = None):
        self.transport.deliver(self.world.message_event(self.world.say(sender, text, room=room)))
        await self.settle()

    def new_dms(self, contact: str) -> list[str]:
        said = [m["text"] for m in self.world.said_to(contact)]
        start, self.seen[contact] = self.seen.get(contact, 0), len(said)
        return said[start:]

    def new_posts(self, room: str) -> list[str]:
        posts = [m["text"] for m in self.world.room(room).messages if m["from"] == self.world.helper]
        key = f"room:{room}"
        start, self.seen[key] = self.seen.get(key, 0), len(posts)
        return posts[start:]


async def test_a_newcomer_goes_from_friend_request_to_earnings_with_every_text_asserted(services, client, tmp_path):
    sim = World(services, tmp_path / "world.jsonl")
    await sim.start()
    try:
        # 1. A friend request carrying 李娜's code: accepted, registered, welcomed, invited.
        sim.world.add_contact("wx-chenjing", "陈静")
        request = sim.world.request_friend("wx-chenjing", "陈静", "你好，李娜推荐的，邀请码 DEMOC001")
        sim.transport.deliver(request)
        await sim.settle()
        welcome = sim.new_dms("wx-chenjing")
        assert len(welcome) == 1 and "陈静" in welcome[0] and "素材群" in welcome[0]
        assert "wx-chenjing" in sim.world.members("room-material")
        assert any("陈静" in text for text in sim.new_dms("wx-lina"))  # the recruiter hears of it
        async with services.db.reading() as session:
            newcomer = await session.scalar(select(Distributor).where(Distributor.contact_id == "wx-chenjing"))
            recruiter = await session.get(Distributor, newcomer.recruiter_id)
        assert (newcomer.level, recruiter.code) == ("C", "DEMOC001")

        # 2. The brand keyword inside a sentence: added to the brand's first group, welcomed there.
        await sim.says("wx-chenjing", "我想进 数学 群")
        assert "wx-chenjing" in sim.world.members("room-xinghuo-1")
        [joined] = sim.new_dms("wx-chenjing")
        assert "星火思维推广1群" in joined
        [greeting] = sim.new_posts("room-xinghuo-1")
        assert "欢迎" in greeting

        # 3. The course manager opens a push; the newcomer's orders are relayed, masked.
        await sim.says("mgr-zhaolin", "开始接龙 双十二", room="room-xinghuo-1")
        assert any("接龙" in t for t in sim.new_posts("room-xinghuo-1"))
        await sim.says("mgr-zhaolin", "库存 XH-MATH-S1 102", room="room-xinghuo-1")
        assert any("102" in t for t in sim.new_posts("room-xinghuo-1"))
        for i in range(3):
            at = START + timedelta(minutes=i)
            event = order_event(f"o-{i}", buyer=f"b-{i}", buyer_name=f"家长{i}", ref=newcomer.code, at=at)
            status, body = await post_event(client, event)
            assert (status, body["seller"]) == (200, newcomer.code)
        await sim.settle()
        posts = "\n".join(sim.new_posts("room-xinghuo-1"))
        for n in (1, 2, 3):
            assert f"{n}. 陈** 出单 星火思维秋季课 ×1" in posts
        assert "陈静" not in posts

        # 4. The stock fell from 102 to 99: the red packet at 100 is announced once, owed, and the manager told.
        assert posts.count("🧧") == 1 and "库存降到 100 份及以下" in posts
        assert any("库存降到 100 份及以下" in t for t in sim.new_dms("mgr-zhaolin"))
        async with services.db.reading() as session:
            assert list(await session.scalars(select(RedPacket.threshold))) == [100]

        # 5. Anyone may ask for the leaderboard: text plus a poster image.
        services.clock.advance(minutes=5)
        await sim.says("wx-chenjing", "排行榜", room="room-xinghuo-1")
        board = [m for m in sim.world.room("room-xinghuo-1").messages if m["from"] == sim.world.helper][-2:]
        assert {m["kind"] for m in board} == {"text", "image"}
        assert "🥇 陈**  1,197.00 元" in next(m["text"] for m in board if m["kind"] == "text")
        sim.new_posts("room-xinghuo-1")

        # 6. Her earnings: three orders' seller commissions, pending; and how far she is from B.
        earned = sim.new_dms("wx-chenjing")
        assert earned and all("144.00" in t for t in earned)
        await sim.says("wx-chenjing", "收益")
        [earnings] = sim.new_dms("wx-chenjing")
        assert "432.00" in earnings and "待结算" in earnings
        await sim.says("wx-chenjing", "升级")
        [progress] = sim.new_dms("wx-chenjing")
        assert "1,197.00" in progress and "10,000.00" in progress and "▓" in progress
    finally:
        await sim.stop()

"""Filters hand on what they found; handlers receive it by the names in their signature, and a
message is read once however many routes' filters ask."""

from __future__ import annotations

import asyncio

import handlers
from bot.base.transport import Event, Message
from bot.runtime.dispatch import Dispatcher
from bot.runtime.router import MessageContext, Router, group, private
from handlers.brand_groups import group_command
from tests.fakes import FakeTransport
from tests.support import START

ROOM = "room-xinghuo-1"  # a brand group of the test configuration


def message(sender: str, text: str, n: int = 0, room: str | None = None) -> Message:
    return Message(id=f"{sender}-{n}", sender=sender, sender_name=sender, text=text, at=START, room=room)


async def run(services, routers, *events: Event) -> Dispatcher:
    dispatcher = Dispatcher(services, routers, FakeTransport())
    dispatcher.start()
    await asyncio.gather(*(dispatcher.submit(e) for e in events))
    await dispatcher.stop()
    return dispatcher


async def test_a_handler_receives_by_name_what_its_filters_found_and_nothing_else(services):
    router = Router("t")
    got: list[tuple[str, str, str]] = []

    def shouted(ctx: MessageContext):
        return {"word": ctx.text.upper(), "unused": 1} if ctx.text.endswith("!") else False

    @router.message(private, shouted)
    async def loud(ctx, message: Message, word: str) -> None:
        got.append((message.sender, word, ctx.route))

    await run(services, [router], message("wx-lina", "hello!"), message("wx-lina", "quiet", n=1))

    assert got == [("wx-lina", "HELLO!", "t.loud")]


async def test_a_group_command_is_parsed_once_however_many_routes_look_at_it(services, monkeypatch):
    import handlers.brand_groups as brand_groups

    parsed: list[str] = []
    real = brand_groups.parse_group_command

    def counting(text: str):
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(brand_groups, "parse_group_command", counting)
    await run(services, handlers.ROUTERS, message("wx-stranger", "排行榜 本周", room=ROOM))

    assert parsed == ["排行榜 本周"]  # the groups and relay routers' filters looked first


async def test_a_handler_asking_for_what_no_filter_hands_on_fails_naming_both(services, caplog):
    router = Router("t")

    @router.message(group)
    async def wants_a_brand(ctx, room: str, brand: object) -> None:
        raise AssertionError("never called")

    dispatcher = await run(services, [router], message("wx-lina", "你好", room="room-elsewhere"))

    assert dispatcher.failed == 1
    assert "t.wants_a_brand asks for brand, which no filter of its route hands on" in caplog.text


async def test_the_brand_group_filters_hand_on_the_room_its_brand_and_the_command(services):
    router = Router("t")
    got: list[tuple[str, str, str, str]] = []

    @router.message(group_command("stock"))
    async def stock(ctx, room: str, brand, command) -> None:
        got.append((room, brand.id, command.name, command.rest))

    await run(services, [router], message("wx-mgr", "@小助手 库存 xh-math-s1 200", room=ROOM),
              message("wx-mgr", "库存 1", n=1, room="room-not-a-brand-group"))  # fmt: skip

    assert got == [(ROOM, "xinghuo", "stock", "xh-math-s1 200")]

"""The simulator over HTTP (``/sim/…``) and its chat page, on an app made of just those routes
with a sink that records what the bot would receive."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.base.transport import FriendRequest, Message, RoomInvitation, RoomJoin, RoomLeave
from tests.sim_support import BRAND_ROOM, Sim, running_sim
from tests.support import ROOT


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[Sim]:
    async with running_sim(tmp_path) as running:
        yield running


# ----------------------------------------------------------------------------- messages


async def test_a_private_message_is_accepted_and_reaches_the_bot(sim: Sim) -> None:
    status, body = await sim.post("/sim/messages", {"from": "wx-lina", "text": "收益"})
    assert status == 202
    assert body["message"]["text"] == "收益"
    [event] = sim.events
    assert isinstance(event, Message)
    assert (event.sender, event.sender_name, event.text, event.private) == ("wx-lina", "李娜", "收益", True)


async def test_a_contacts_messages_show_what_the_helper_said_and_the_whole_conversation(sim: Sim) -> None:
    await sim.post("/sim/messages", {"from": "wx-lina", "text": "收益"})
    await sim.transport.send_text("wx-lina", "本月收益 144.00 元", room=False, ref="17")
    body = await sim.get("/sim/contacts/wx-lina/messages")
    assert body["contact"] == {"id": "wx-lina", "name": "李娜", "friend": True}
    assert [(m["text"], m["ref"]) for m in body["messages"]] == [("本月收益 144.00 元", "17")]
    assert [(m["from"], m["text"]) for m in body["conversation"]] == [
        ("wx-lina", "收益"),
        ("helper", "本月收益 144.00 元"),
    ]
    assert body["invitations"] == []


async def test_a_room_message_typing_at_the_helper_mentions_it(sim: Sim) -> None:
    status, _ = await sim.post(
        "/sim/messages", {"from": "wx-lina", "text": "@童趣优课小助手 升级", "room": "room-material"}
    )
    assert status == 202
    [event] = sim.events
    assert isinstance(event, Message)
    assert (event.room, event.mentions, event.mentions_self) == ("room-material", ("helper",), True)


async def test_an_image_is_delivered_as_an_image(sim: Sim) -> None:
    status, _ = await sim.post("/sim/messages", {"from": "wx-lina", "kind": "image", "room": "room-material"})
    assert status == 202
    assert [(e.kind, e.text) for e in sim.events if isinstance(e, Message)] == [("image", "[图片]")]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"from": "wx-nobody", "text": "你好"}, "unknown sender 'wx-nobody'"),
        ({"from": "wx-lina", "text": "你好", "room": "room-nowhere"}, "unknown room 'room-nowhere'"),
        ({"from": "wx-lina", "text": "大家好", "room": BRAND_ROOM}, "wx-lina is not in room room-xinghuo-1"),
        ({"from": "wx-lina", "text": ""}, "'text' must be a non-empty string"),
        ({"from": "wx-lina", "text": "你好", "kind": "voice"}, "'kind' must be 'text', 'image' or 'card'"),
        ({"from": "helper", "text": "我是机器人"}, "the helper speaks only through the bot"),
        ({"from": "mgr-zhaolin", "text": "hi", "mentions": "wx-lina"}, "'mentions' must be a list"),
        ({"text": "谁在说话"}, "'from' must be a non-empty string"),
        ([1, 2], "the body must be a JSON object"),
    ],
)
async def test_a_message_the_world_cannot_take_is_refused_with_the_reason(sim: Sim, body: Any, reason: str) -> None:
    status, answer = await sim.post("/sim/messages", body)
    assert status == 422
    assert answer["status"] == "refused"
    assert reason in answer["reason"]
    assert sim.events == []


async def test_a_body_that_is_not_json_is_refused(sim: Sim) -> None:
    response = await sim.client.post("/sim/messages", data=b"{from: lina", headers={"Content-Type": "application/json"})
    assert response.status == 422
    assert (await response.json())["reason"] == "the body is not valid JSON"


async def test_someone_who_is_not_a_friend_cannot_message_the_helper_and_is_told_why_in_chinese(sim: Sim) -> None:
    await sim.post("/sim/rooms/room-material/join", {"contact": "wx-passer", "name": "路人"})
    status, answer = await sim.post("/sim/messages", {"from": "wx-passer", "text": "你好"})
    assert status == 422
    assert answer["reason"] == "你还不是小助手的好友：小助手通过你的好友申请后才能发消息"


async def test_room_messages_hold_everything_said_there_by_anyone_in_order(sim: Sim) -> None:
    await sim.post("/sim/messages", {"from": "wx-lina", "text": "早上好", "room": "room-material"})
    await sim.transport.send_text("room-material", "今日推荐：星火思维", room=True, ref="5")
    await sim.post("/sim/messages", {"from": "wx-zhangwei", "text": "收到", "room": "room-material"})
    body = await sim.get("/sim/rooms/room-material/messages")
    assert body["topic"] == "童趣优课素材群"
    assert [(m["name"], m["text"]) for m in body["messages"]] == [
        ("李娜", "早上好"),
        ("童趣优课小助手", "今日推荐：星火思维"),
        ("张伟", "收到"),
    ]


async def test_messages_in_a_room_without_the_helper_do_not_reach_the_bot(sim: Sim) -> None:
    _, created = await sim.post("/sim/rooms", {"owner": "wx-lina", "topic": "李娜的家长群", "members": ["wx-zhangwei"]})
    status, _ = await sim.post("/sim/messages", {"from": "wx-zhangwei", "text": "明天见", "room": created["room"]})
    assert status == 202
    assert sim.events == []
    assert [m["text"] for m in (await sim.get(f"/sim/rooms/{created['room']}/messages"))["messages"]] == ["明天见"]


# ----------------------------------------------------------------------------- contacts and friendships


async def test_contacts_list_everyone_with_names_and_the_helper_apart(sim: Sim) -> None:
    body = await sim.get("/sim/contacts")
    assert body["helper"] == {"id": "helper", "name": "童趣优课小助手"}
    assert {"id": "wx-lina", "name": "李娜", "friend": True} in body["contacts"]
    assert {"id": "ops-xiaomei", "name": "运营", "friend": True} in body["contacts"]
    assert "helper" not in {c["id"] for c in body["contacts"]}


async def test_a_friend_request_creates_the_contact_and_reaches_the_bot(sim: Sim) -> None:
    status, body = await sim.post("/sim/friendships", {"from": "wx-new", "name": "新妈妈", "hello": "我想做分销"})
    assert status == 202
    [event] = sim.events
    assert isinstance(event, FriendRequest)
    assert (event.id, event.contact, event.name, event.hello) == (body["request"], "wx-new", "新妈妈", "我想做分销")
    assert {"id": "wx-new", "name": "新妈妈", "friend": False} in (await sim.get("/sim/contacts"))["contacts"]

    await sim.transport.accept_friend(event.id)
    assert (await sim.get("/sim/contacts/wx-new/messages"))["contact"]["friend"] is True
    status, answer = await sim.post("/sim/friendships", {"from": "wx-new", "hello": "再加一次"})
    assert (status, answer["reason"]) == (422, "新妈妈（wx-new）已经是小助手的好友了")


async def test_an_unknown_contacts_messages_are_not_found(sim: Sim) -> None:
    status, body = await sim.call("GET", "/sim/contacts/wx-nobody/messages")
    assert status == 404
    assert "unknown contact 'wx-nobody'" in body["reason"]


# ----------------------------------------------------------------------------- rooms


async def test_rooms_are_listed_and_can_be_filtered_by_member(sim: Sim) -> None:
    rooms = (await sim.get("/sim/rooms"))["rooms"]
    assert {
        "id": BRAND_ROOM,
        "topic": "星火思维推广1群",
        "owner": "helper",
        "member_count": 2,
        "helper_in": True,
    } in rooms
    mine = (await sim.get("/sim/rooms?member=wx-lina"))["rooms"]
    assert [r["id"] for r in mine] == ["room-material"]


async def test_a_room_shows_its_topic_and_members_with_names(sim: Sim) -> None:
    body = await sim.get(f"/sim/rooms/{BRAND_ROOM}")
    assert body["topic"] == "星火思维推广1群"
    assert body["members"] == [
        {"id": "helper", "name": "童趣优课小助手"},
        {"id": "mgr-zhaolin", "name": "星火思维课程经理"},
    ]
    status, answer = await sim.call("GET", "/sim/rooms/room-nowhere")
    assert (status, answer["status"]) == (404, "not_found")


async def test_one_person_joining_a_room_reaches_the_bot_named(sim: Sim) -> None:
    status, body = await sim.post(f"/sim/rooms/{BRAND_ROOM}/join", {"contact": "wx-lina"})
    assert status == 202
    assert (body["joined"], body["named"], body["member_count"]) == (["wx-lina"], ["wx-lina"], 3)
    assert [(e.room, e.named) for e in sim.events if isinstance(e, RoomJoin)] == [(BRAND_ROOM, ("wx-lina",))]


async def test_several_joining_at_once_are_named_as_one_while_the_member_list_has_all(sim: Sim) -> None:
    people = ["wx-lina", {"id": "wx-mama1", "name": "妈妈一"}, {"id": "wx-mama2", "name": "妈妈二"}]
    status, body = await sim.post(f"/sim/rooms/{BRAND_ROOM}/join", {"contacts": people})
    assert status == 202
    assert body["named"] == ["wx-lina"]
    [event] = sim.events
    assert isinstance(event, RoomJoin) and event.named == ("wx-lina",)
    members = (await sim.get(f"/sim/rooms/{BRAND_ROOM}"))["members"]
    assert [m["name"] for m in members] == ["童趣优课小助手", "星火思维课程经理", "李娜", "妈妈一", "妈妈二"]


async def test_joining_twice_or_as_the_helper_is_refused(sim: Sim) -> None:
    status, answer = await sim.post(f"/sim/rooms/{BRAND_ROOM}/join", {"contact": "mgr-zhaolin"})
    assert (status, answer["reason"]) == (422, "星火思维课程经理（mgr-zhaolin）已经在群「星火思维推广1群」里了")
    status, answer = await sim.post(f"/sim/rooms/{BRAND_ROOM}/join", {"contact": "helper"})
    assert status == 422
    assert answer["reason"].startswith("the helper joins rooms")
    status, answer = await sim.post("/sim/rooms/room-nowhere/join", {"contact": "wx-lina"})
    assert status == 422
    assert sim.events == []


async def test_leaving_a_room_reaches_the_bot(sim: Sim) -> None:
    status, body = await sim.post("/sim/rooms/room-material/leave", {"contact": "wx-zhangwei"})
    assert (status, body["left"]) == (202, ["wx-zhangwei"])
    assert [(e.room, e.named) for e in sim.events if isinstance(e, RoomLeave)] == [("room-material", ("wx-zhangwei",))]


# ----------------------------------------------------------------------------- invitations


async def test_an_invitation_shows_in_the_contacts_messages_and_accepting_it_joins_the_room(sim: Sim) -> None:
    world = sim.transport.world
    people = [{"id": f"wx-p{i}", "name": f"家长{i}"} for i in range(39)]
    await sim.post(f"/sim/rooms/{BRAND_ROOM}/join", {"contacts": people})  # 41 members now
    sim.events.clear()
    await sim.transport.invite_to_room(BRAND_ROOM, "wx-lina", ref="31")

    [card] = (await sim.get("/sim/contacts/wx-lina/messages"))["invitations"]
    assert {k: card[k] for k in ("room", "topic", "inviter_name", "state")} == {
        "room": BRAND_ROOM,
        "topic": "星火思维推广1群",
        "inviter_name": "童趣优课小助手",
        "state": "pending",
    }
    status, body = await sim.post(f"/sim/invitations/{card['id']}/accept")
    assert (status, body["room"], body["joined"]) == (202, BRAND_ROOM, True)
    assert "wx-lina" in world.members(BRAND_ROOM)
    assert [(e.named, e.inviter) for e in sim.events if isinstance(e, RoomJoin)] == [(("wx-lina",), "helper")]
    assert (await sim.get("/sim/contacts/wx-lina/messages"))["invitations"][0]["state"] == "accepted"

    status, body = await sim.post(f"/sim/invitations/{card['id']}/accept")
    assert (status, body["reason"]) == (422, f"邀请 {card['id']} 已经接受过了")
    status, body = await sim.post("/sim/invitations/inv-404/accept")
    assert status == 404


async def test_a_person_inviting_the_helper_into_their_group_reaches_the_bot(sim: Sim) -> None:
    status, created = await sim.post(
        "/sim/rooms", {"owner": "wx-lina", "topic": "李娜的家长群", "members": ["wx-zhangwei"]}
    )
    assert status == 201
    status, body = await sim.post(f"/sim/rooms/{created['room']}/invitations", {"from": "wx-lina", "contact": "helper"})
    assert status == 202
    [event] = sim.events
    assert isinstance(event, RoomInvitation)
    assert (event.id, event.topic, event.inviter, event.member_count) == (
        body["invitation"],
        "李娜的家长群",
        "wx-lina",
        2,
    )
    status, answer = await sim.post(f"/sim/invitations/{event.id}/accept")
    assert (status, answer["reason"]) == (422, "the helper accepts its invitations through the bot")

    await sim.transport.accept_room_invitation(event.id)
    assert (await sim.get(f"/sim/rooms/{created['room']}"))["helper_in"] is True


# ----------------------------------------------------------------------------- journal and page


async def test_the_refs_received_are_listed_in_delivery_order(sim: Sim) -> None:
    await sim.transport.send_text("wx-lina", "一", room=False, ref="3")
    await sim.transport.send_text("room-material", "二", room=True, ref="1,2")
    await sim.transport.add_to_room(BRAND_ROOM, "wx-lina", ref="4")
    assert await sim.get("/sim/journal/refs") == {"refs": ["3", "1,2", "4"], "count": 3}


async def test_the_sim_page_is_a_chinese_chat_page_with_no_outside_resources(sim: Sim) -> None:
    response = await sim.client.get("/sim")
    assert response.status == 200
    assert response.content_type == "text/html"
    html = await response.text()
    labels = ("模拟微信", "我是", "会话", "输入消息", "发送", "接受", "加小助手为好友", "还没有消息", "验证消息")
    for label in (*labels, "发起群聊", "创建群聊", "邀请进群", "图片已过期"):
        assert label in html
    assert 'name="viewport"' in html and "max-width: 600px" in html
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html)  # the network is closed: no CDN
    assert "innerHTML" not in html  # text goes in through textContent only
    assert response.headers["X-Frame-Options"] == "DENY"  # no other page frames it to borrow clicks
    called = set(re.findall(r'"(/sim/[a-z]+)', html))  # the endpoints the page polls and posts to
    assert called == {"/sim/contacts", "/sim/rooms", "/sim/messages", "/sim/friendships", "/sim/invitations"}


def test_make_test_installs_a_colour_emoji_font_for_the_emoji_the_bot_sends() -> None:
    script = (ROOT / "scripts" / "system-deps").read_text(encoding="utf-8")
    packages = re.search(r"packages=\((.*)\)", script)
    assert packages is not None and "fonts-noto-color-emoji" in packages[1].split()


CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")
async def test_the_sim_page_in_a_headless_browser_shows_the_contacts_and_the_conversation(sim: Sim) -> None:
    await sim.transport.send_text("wx-linxiao", "欢迎回来，林晓", room=False)
    url = str(sim.client.make_url("/sim"))
    browser = await asyncio.create_subprocess_exec(
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--virtual-time-budget=5000",
        "--dump-dom",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    dom, _ = await asyncio.wait_for(browser.communicate(), 60)
    text = dom.decode()
    assert "林晓（wx-linxiao）" in text  # the picker, filled by the script
    assert "童趣优课素材群" in text  # the conversation list
    assert "欢迎回来，林晓" in text  # the first contact's chat with the helper

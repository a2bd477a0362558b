"""Co-learning sessions end to end, with the clock in the test's hands: scheduled through the
ops API, kept across a restart, reminders sent once, lecturers relayed in the window only,
records per group, cancelled with the groups told."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta

from bot.app import build_env
from bot.base.context import FixedClock
from bot.base.env import Env
from bot.base.transport import Capabilities
from bot.runtime.scheduler import ColearningTimer, register_colearning_jobs
from tests.colearning_support import (
    LECTURER,
    SESSION_END,
    SESSION_START,
    colearning_client,
    dispatch,
    enrol,
    outbox,
    paused_scheduler,
    said,
    session_body,
)
from tests.fakes import FAKE, FakeTransport
from tests.support import START, TOKEN, order_event, post_event

AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROOMS = ["room-g1", "room-g2", "room-g3"]
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)



def expected_jobs(session_id: int, start=SESSION_START, end=SESSION_END) -> dict:
    return {
        f"colearning:{session_id}:reminder:1440": start - DAY,
        f"colearning:{session_id}:reminder:60": start - HOUR,
        f"colearning:{session_id}:reminder:10": start - 10 * MINUTE,
        f"colearning:{session_id}:start": start,
        f"colearning:{session_id}:card:30": start + 30 * MINUTE,
        f"colearning:{session_id}:end": end,
    }


async def create_session(services: Env, **overrides) -> int:
    async with colearning_client(services) as client:
        response = await client.post("/api/colearning/sessions", json=session_body(**overrides), headers=AUTH)
        assert response.status == 201, await response.text()
        return (await response.json())["session"]["id"]


@asynccontextmanager
async def another_process(services: Env, transport=None) -> AsyncIterator[tuple[Env, ColearningTimer]]:
    """A second process on the same database: its own services, clock and scheduler."""
    other = build_env(settings=services.settings, database_url=services.db.url, clock=FixedClock(START))
    scheduler = paused_scheduler()
    try:
        yield other, await register_colearning_jobs(other, scheduler, transport or FakeTransport())
    finally:
        scheduler.shutdown(wait=False)
        await other.db.dispose()


IMAGE_READING = replace(FAKE, image_bytes=True)


@dataclass
class ImageTransport(FakeTransport):
    """A transport that can fetch an image's bytes (what the relay forwards)."""

    capabilities: Capabilities = IMAGE_READING

    async def image_bytes(self, message_id: str) -> bytes:
        return f"png of {message_id}".encode()


def texts(rows) -> list[tuple[str, str]]:
    return [(r.kind, r.text if r.kind == "text" else r.payload["name"]) for r in rows]


async def test_a_session_survives_a_restart_reminds_once_relays_lecturers_in_the_window_and_cancels(services, caplog):
    await enrol(services, ROOMS)
    session_id = await create_session(services)
    first = paused_scheduler()
    before = await register_colearning_jobs(services, first, FakeTransport())
    assert before.jobs() == expected_jobs(session_id)
    first.shutdown(wait=False)  # the bot stops …

    members = {"room-g1": ["a", "b", "c", "helper"], "room-g2": ["d", "helper"], "room-g3": ["helper"]}
    transport = ImageTransport(members=members)
    async with another_process(services, transport) as (bot, timer):  # … and starts again
        assert timer.jobs() == expected_jobs(session_id)
        clock = bot.clock

        # The 24 h reminder fires in this process and (late) in the old one: each group gets it once.
        clock.at = services.clock.at = SESSION_START - DAY + 2 * MINUTE
        await asyncio.gather(timer.run(session_id, "reminder:1440"), before.run(session_id, "reminder:1440"))
        await timer.run(session_id, "reminder:1440")
        reminders = await outbox(services, template="colearning_reminder")
        assert [r.target for r in reminders] == ROOMS
        assert "《数学思维公开课》还有 23 小时 58 分钟开始（11月26日 20:00–21:00）" in reminders[0].text
        await timer.sync()
        assert f"colearning:{session_id}:reminder:1440" not in timer.jobs()

        # Down through the 1 h reminder, back 25 minutes late: skipped, and said once in the log.
        clock.at = SESSION_START - 35 * MINUTE
        with caplog.at_level(logging.WARNING, logger="bot.runtime.scheduler"):
            await timer.run(session_id, "reminder:60")
            await timer.run(session_id, "reminder:60")
        assert len([r for r in caplog.records if "reminder:60" in r.getMessage() and "skipped" in r.getMessage()]) == 1
        assert len(await outbox(services, template="colearning_reminder")) == 3

        # The 10 min reminder, a minute late: still sent, with the minutes really left.
        clock.at = SESSION_START - 9 * MINUTE
        await timer.run(session_id, "reminder:10")
        assert "还有 9 分钟开始" in (await outbox(services, template="colearning_reminder"))[-1].text

        clock.at = SESSION_START
        await timer.run(session_id, "start")
        assert [r.target for r in await outbox(services, template="colearning_started")] == ROOMS

        await dispatch(
            bot,
            said(LECTURER, "提前说一句", SESSION_START - MINUTE, 1, name="王老师"),
            said(LECTURER, "大家好，今天讲鸡兔同笼", SESSION_START + MINUTE, 2, name="王老师"),
            said("wx-parent", "老师好", SESSION_START + 2 * MINUTE, 3),
            said(LECTURER, "板书.png", SESSION_START + 3 * MINUTE, 4, name="王老师", kind="image"),
            said(LECTURER, "先看第一题", SESSION_START + 4 * MINUTE, 5, name="王老师"),
            said(LECTURER, "下课后补一句", SESSION_END, 6, name="王老师"),
            transport=transport,
        )
        for room in ROOMS:
            relayed = [r for r in await outbox(services, target=room) if r.template in ("colearning_relay", "")]
            assert texts(relayed) == [
                ("text", "【数学思维公开课】王老师：大家好，今天讲鸡兔同笼"),
                ("image", "板书.png"),
                ("text", "【数学思维公开课】王老师：先看第一题"),
            ]
            assert relayed[0].coalesce_key != relayed[2].coalesce_key  # the image stays between them
            assert relayed[1].payload["image_b64"] == "cG5nIG9mIHd4LXRlYWNoZXItNA=="  # "png of wx-teacher-4"
            assert {r.priority for r in relayed} == {0}  # the live tier, the image too

        async with colearning_client(bot) as client:
            report = await (await client.get(f"/api/colearning/sessions/{session_id}", headers=AUTH)).json()
            assert [(g["room"], g["members_at_start"], g["relayed"]) for g in report["groups"]] == [
                ("room-g1", 4, 3),
                ("room-g2", 2, 3),
                ("room-g3", 1, 3),
            ]

            clock.at = SESSION_START + 10 * MINUTE
            cancelled = await client.post(
                f"/api/colearning/sessions/{session_id}/cancel", json={"reason": "老师临时生病"}, headers=AUTH
            )
            assert cancelled.status == 200
        assert timer.jobs() == {}
        told = await outbox(services, template="colearning_cancelled")
        assert [r.target for r in told] == ROOMS and "取消了：老师临时生病" in told[0].text

        await dispatch(bot, said(LECTURER, "还在吗", SESSION_START + 11 * MINUTE, 7), transport=transport)
        await timer.run(session_id, "card:30")
        assert not [r for r in await outbox(services) if "还在吗" in r.text]
        assert await outbox(services, template="colearning_course_card") == []


async def test_an_image_the_transport_cannot_fetch_reaches_the_groups_as_a_line_saying_so(services):
    await enrol(services, ROOMS[:1])
    await create_session(services)

    await dispatch(services, said(LECTURER, "板书.png", SESSION_START + MINUTE, 1, name="王老师", kind="image"))

    [line] = await outbox(services, target="room-g1")
    assert (line.kind, line.template, line.text) == (
        "text",
        "colearning_relay_image",
        "【数学思维公开课】王老师：[图片]",
    )


async def test_an_image_is_relayed_as_a_line_where_the_transport_declares_it_cannot_read_pictures(services):
    await enrol(services, ROOMS[:1])
    await create_session(services)
    unable = ImageTransport(capabilities=FAKE)  # it has the method, but does not declare the capability

    await dispatch(
        services, said(LECTURER, "板书.png", SESSION_START + MINUTE, 1, name="王老师", kind="image"), transport=unable
    )

    [line] = await outbox(services, target="room-g1")
    assert (line.kind, line.text) == ("text", "【数学思维公开课】王老师：[图片]")


async def test_the_course_card_goes_out_at_its_moment_with_course_price_and_keyword(services):
    await enrol(services, ROOMS[:2])
    session_id = await create_session(services, cards=["0m", "30m"])
    timer = ColearningTimer(services, paused_scheduler())

    services.clock.at = SESSION_START + 30 * MINUTE
    await timer.run(session_id, "card:30")
    await timer.run(session_id, "card:30")

    cards = await outbox(services, template="colearning_course_card")
    assert [c.target for c in cards] == ROOMS[:2]
    assert "星火思维秋季课" in cards[0].text and "价格：399.00 元" in cards[0].text and "回复“数学”" in cards[0].text
    timer.scheduler.shutdown(wait=False)


async def test_editing_the_start_moves_the_jobs_and_the_groups_already_reminded_hear_the_new_time(services):
    await enrol(services, ROOMS[:2])
    session_id = await create_session(services)
    timer = await register_colearning_jobs(services, paused_scheduler())
    services.clock.at = SESSION_START - DAY
    await timer.run(session_id, "reminder:1440")
    later = SESSION_START + 2 * HOUR

    async with colearning_client(services) as client:
        response = await client.patch(
            f"/api/colearning/sessions/{session_id}",
            json={"starts_at": "2026-11-26 22:00", "ends_at": "2026-11-26 23:00"},  # Shanghai time
            headers=AUTH,
        )

        assert response.status == 200
        assert (await response.json())["session"]["starts_at"] == later.isoformat()
    assert timer.jobs() == expected_jobs(session_id, later, later + HOUR)
    told = await outbox(services, template="colearning_rescheduled")
    assert [r.target for r in told] == ROOMS[:2] and "改到 11月26日 22:00–23:00" in told[0].text
    services.clock.at = later - DAY
    await timer.run(session_id, "reminder:1440")  # the new time's 24 h reminder goes out again
    assert len(await outbox(services, template="colearning_reminder")) == 4
    timer.scheduler.shutdown(wait=False)


async def test_a_session_with_problems_is_refused_with_every_problem_listed(services):
    [group] = await enrol(services, ["room-g1"])
    async with colearning_client(services) as client:
        bad = await client.post(
            "/api/colearning/sessions",
            json={**session_body(course="NOPE", groups=[group, 999], reminders=["soon"]), "colour": "red"},
            headers=AUTH,
        )
        missing = await client.post("/api/colearning/sessions", json={"title": "x"}, headers=AUTH)
        bad_errors, missing_errors = (await bad.json())["errors"], (await missing.json())["errors"]

    assert bad.status == 422
    assert bad_errors == [
        "colour: not a field (fields: title, course, brand, source_room, lecturers, starts_at, ends_at, groups,"
        " reminders, cards, keyword)",
        "reminders: 'soon' is not an offset like 10m, 1h, 24h or 1h30m",
        "course: no course has the sku 'NOPE'",
    ]
    assert [e.split(":")[0] for e in missing_errors] == [
        "source_room",
        "lecturers",
        "starts_at",
        "ends_at",
    ]


async def test_chosen_groups_must_be_approved_ones_and_only_they_get_the_session(services):
    chosen, _ = await enrol(services, ["room-g1", "room-g2"])
    async with colearning_client(services) as client:
        refused = await client.post("/api/colearning/sessions", json=session_body(groups=[chosen, 99]), headers=AUTH)
        assert (await refused.json())["errors"] == ["groups: [99] are not approved groups (see the applications)"]
    session_id = await create_session(services, groups=[chosen])
    timer = ColearningTimer(services, paused_scheduler())

    services.clock.at = SESSION_START
    await timer.run(session_id, "start")

    assert [r.target for r in await outbox(services, template="colearning_started")] == ["room-g1"]
    timer.scheduler.shutdown(wait=False)


async def test_a_cancelled_or_finished_session_cannot_be_edited_or_cancelled_again(services):
    session_id = await create_session(services)
    async with colearning_client(services) as client:
        url = f"/api/colearning/sessions/{session_id}"
        assert (await client.delete(url, headers=AUTH)).status == 200
        assert (await client.delete(url, headers=AUTH)).status == 409
        assert (await client.patch(url, json={"title": "新名字"}, headers=AUTH)).status == 409
        assert (await client.delete("/api/colearning/sessions/404", headers=AUTH)).status == 404
        other = await create_session(services)
        services.clock.at = SESSION_END
        response = await client.patch(f"/api/colearning/sessions/{other}", json={"title": "新名字"}, headers=AUTH)
        assert (response.status, (await response.json())["errors"]) == (409, ["the session is over"])
        listed = await (await client.get("/api/colearning/sessions?status=cancelled", headers=AUTH)).json()
        assert [s["id"] for s in listed["sessions"]] == [session_id]


async def test_orders_the_groups_distributor_sold_during_the_session_are_in_its_record(services):
    await enrol(services, ["room-g1"])
    session_id = await create_session(services)
    async with colearning_client(services) as client:
        for order_id, at in (("o-before", SESSION_START - MINUTE), ("o-during", SESSION_START + 20 * MINUTE)):
            services.clock.at = at
            status, _ = await post_event(client, order_event(order_id, ref="DEMOC001", at=at), at=at)
            assert status == 200
        report = await (await client.get(f"/api/colearning/sessions/{session_id}", headers=AUTH)).json()

    [line] = report["groups"]
    assert (line["distributor"]["code"], line["orders"], line["amount"]) == ("DEMOC001", 1, "399.00")
    assert (line["members_at_start"], line["relayed"]) == (None, 0)

"""The unit of work carried by every context: its outbox rows are written with it, its
after-commit callbacks and its events happen only once it has committed, and a co-learning
change reaches the timer and the relay filter without the caller telling them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.base.outbox import queue_text, queued_row
from bot.runtime.scheduler import SourceRooms, register_colearning_jobs
from models import OutboxMessage
from services import colearning
from services.colearning import ColearningChanged
from tests.colearning_support import LECTURE_ROOM, LECTURER, SESSION_START, paused_scheduler, session_draft
from tests.fakes import FakeTransport


async def outbox_rows(services) -> int:
    async with services.db.reading() as session:
        return int(await session.scalar(select(func.count(OutboxMessage.id))) or 0)


async def test_rows_queued_are_written_with_the_commit_and_callbacks_and_events_follow_it(services):
    happened: list[str] = []
    services.react(ColearningChanged, lambda event: _note(happened, f"reacted to {type(event).__name__}"))

    async with services.context() as ctx:
        queue_text(ctx, target="wx-lina", template="error_fallback", data={})
        ctx.uow.after_commit(lambda: happened.append(f"after commit, {len(happened)} before"))
        ctx.uow.emit(ColearningChanged())
        ctx.uow.emit(ColearningChanged())  # the same news twice is published once
        assert happened == []
        assert queued_row(ctx, template="error_fallback", target="wx-lina") is not None

    assert await outbox_rows(services) == 1
    assert happened == ["after commit, 0 before", "reacted to ColearningChanged"]


async def test_a_rolled_back_unit_of_work_writes_nothing_and_calls_nothing_back(services):
    happened: list[str] = []
    services.react(ColearningChanged, lambda event: _note(happened, "reacted"))

    with pytest.raises(RuntimeError):
        async with services.context() as ctx:
            queue_text(ctx, target="wx-lina", template="error_fallback", data={})
            ctx.uow.after_commit(lambda: happened.append("after commit"))
            ctx.uow.emit(ColearningChanged())
            raise RuntimeError("the caller gives up")

    assert await outbox_rows(services) == 0
    assert happened == []


async def test_a_callback_that_fails_after_the_commit_leaves_the_transaction_and_the_others_standing(services, caplog):
    happened: list[str] = []

    def broken() -> None:
        raise ValueError("boom")

    async with services.context() as ctx:
        queue_text(ctx, target="wx-lina", template="error_fallback", data={})
        ctx.uow.after_commit(broken)
        ctx.uow.after_commit(lambda: happened.append("second"))

    assert await outbox_rows(services) == 1 and happened == ["second"]
    assert "after commit" in caplog.text and "failed (the transaction stands)" in caplog.text


async def test_a_session_created_reaches_the_relay_filter_and_the_timer_without_anyone_telling_them(services):
    scheduler = paused_scheduler()
    timer = await register_colearning_jobs(services, scheduler, FakeTransport())
    assert timer.jobs() == {}

    async with services.context() as ctx:
        row = await colearning.create_session(ctx, session_draft(ctx.settings, cards=[]))

    assert services.kept(SourceRooms).match(LECTURE_ROOM, LECTURER, SESSION_START)
    assert f"colearning:{row.id}:start" in timer.jobs()
    scheduler.shutdown(wait=False)


async def _note(happened: list[str], what: str) -> None:
    happened.append(what)

"""Statuses are named, not typed out: each row's status reads back as a member of its enum, is
stored as the same string it always was, and a status nobody knows never reaches the database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import StatementError

from models import Distributor, OutboxMessage
from models.statuses import DistributorStatus, OutboxStatus
from tests.support import START, TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def outbox_row(status: str) -> OutboxMessage:
    return OutboxMessage(
        account="helper",
        kind="text",
        target="wx-lina",
        template="t",
        text="hi",
        status=status,
        created_at=START,
        not_before=START,
    )


async def test_a_misspelt_status_is_refused_and_nothing_is_written(services):
    with pytest.raises(StatementError, match="'deadd' is not a valid OutboxStatus"):
        async with services.db.unit_of_work() as session:
            session.add(outbox_row("deadd"))

    async with services.db.reading() as session:
        assert await session.scalar(select(func.count(OutboxMessage.id))) == 0


async def test_looking_for_a_status_nobody_knows_is_an_error_not_an_empty_answer(services):
    async with services.db.reading() as session:
        with pytest.raises(StatementError, match="'actvie' is not a valid DistributorStatus"):
            await session.scalar(select(func.count()).where(Distributor.status == "actvie"))


async def test_a_status_reads_back_as_its_enum_and_is_stored_as_the_same_string_as_ever(services):
    async with services.db.unit_of_work() as session:
        session.add(outbox_row("dead"))

    async with services.db.reading() as session:
        row = await session.scalar(select(OutboxMessage))
        stored = await session.scalar(text("SELECT status FROM outbox"))
        people = set(await session.scalars(select(Distributor.status)))

    assert row is not None and row.status is OutboxStatus.DEAD
    assert stored == "dead" and type(stored) is str
    assert people == {DistributorStatus.ACTIVE}  # the demo distributors, as members


async def test_ops_asking_for_entry_applications_in_a_status_there_is_not_are_told_which_there_are(client):
    answer = await client.get("/api/entry-applications?status=waiting", headers=AUTH)

    assert answer.status == 422
    assert (await answer.json())["errors"] == ["status must be one of pending, approved, rejected"]

"""Rows inserted in one statement learn their own ids (models.new_ids), on both databases,
while another transaction inserts into the same table."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.base.outbox import OUTBOX_TABLE
from models.messaging import OutboxMessage
from models.new_ids import by_call, insert_ids


def rows(tag: str, count: int) -> list[dict[str, object]]:
    return [
        {"account": "helper", "kind": "text", "target": f"wxid_{tag}_{i}", "template": "menu", "text": f"{tag} {i}"}
        for i in range(count)
    ]


async def test_each_inserted_row_gets_the_id_the_database_gave_it_even_beside_another_writer(services):
    async def insert(tag: str) -> dict[int, str]:
        written = rows(tag, 700)
        async with services.db.unit_of_work() as session:
            ids = await insert_ids(session, OUTBOX_TABLE, written)
        return {new_id: str(row["text"]) for new_id, row in zip(ids, written, strict=True)}

    first, second = await asyncio.gather(insert("a"), insert("b"))
    async with services.db.reading() as session:
        stored = {row[0]: row[1] for row in await session.execute(select(OutboxMessage.id, OutboxMessage.text))}
    assert len(stored) == 1400
    assert {**first, **second} == stored


def test_ids_are_grouped_by_the_call_each_row_was_written_for_and_untraced_rows_are_left_out():
    assert by_call([41, 42, 43, 44], ["a", "b", "a", ""]) == {"a": [41, 43], "b": [42]}

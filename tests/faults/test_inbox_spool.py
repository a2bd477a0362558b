"""The inbox spool on its own: what it writes survives the process, in order, and nothing done
comes back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.base.transport import FriendRequest, Message, RoomInvitation, RoomJoin, RoomLeave
from bot.runtime.spool import Spool, SpoolInUse, event_from_json, event_to_json
from tests.support import START

EVENTS = [
    Message("m1", "wx-lina", "李娜", "@小助手 收益", START, room="room-1", mentions=("helper",), mentions_self=True),
    FriendRequest("fr-1", "guest-1", "访客", "想做分销", START + timedelta(seconds=1)),
    RoomJoin("room-1", ("a", "b"), START, inviter="wx-lina"),
    RoomLeave("room-1", ("b",), START),
    RoomInvitation("inv-1", "room-9", "家长群", "wx-lina", START, member_count=120),
]


def test_every_kind_of_event_comes_back_from_the_spool_as_it_went_in():
    assert [event_from_json(event_to_json(e)) for e in EVENTS] == EVENTS


def test_events_left_waiting_are_loaded_by_the_next_start_in_order_without_those_done(tmp_path):
    path = tmp_path / "inbox.jsonl"
    first = Spool(path)
    first.open()
    first.append(EVENTS[:3])
    first.done(1)
    first.append(EVENTS[3:])
    first.close()

    again = Spool(path)
    assert again.open() == 4
    assert list(again.pending) == EVENTS[1:]
    again.done(4)
    assert path.read_text() == ""  # nothing waits: the file is emptied
    again.close()


def test_a_line_torn_by_a_kill_is_skipped_and_the_rest_is_kept(tmp_path, caplog):
    path = tmp_path / "inbox.jsonl"
    spool = Spool(path)
    spool.open()
    spool.append(EVENTS[:2])
    spool.close()
    with path.open("a", encoding="utf-8") as file:
        file.write('{"seq": 3, "event": {"type": "Mess')
    again = Spool(path)
    assert again.open() == 2 and list(again.pending) == EVENTS[:2]
    assert "skipping an unreadable line" in caplog.text
    again.close()


def test_a_second_process_on_the_same_spool_is_refused(tmp_path):
    path = tmp_path / "inbox.jsonl"
    first = Spool(path)
    first.open()
    with pytest.raises(SpoolInUse, match="give each process its own spool"):
        Spool(path).open()
    first.close()
    third = Spool(path)
    third.open()  # free again once the first has closed it
    third.close()


def test_numbering_goes_on_after_a_restart_so_done_marks_stay_right(tmp_path):
    path = tmp_path / "inbox.jsonl"
    spool = Spool(path)
    spool.open()
    spool.append(EVENTS[:2])
    spool.close()
    again = Spool(path)
    again.open()
    again.append(EVENTS[2:3])
    again.done(2)
    again.close()
    last = Spool(path)
    assert last.open() == 1 and list(last.pending) == [EVENTS[2]]
    last.close()

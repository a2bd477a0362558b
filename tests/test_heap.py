"""What start-up built is kept out of the garbage collector's walks while the bot runs, and
handed back when it stops."""

import gc

from bot.base.heap import settle, unsettle


def test_start_up_objects_are_frozen_while_the_bot_runs_and_handed_back_when_it_stops():
    built_at_start_up = [[i] for i in range(1000)]
    try:
        frozen = settle()
        assert frozen >= len(built_at_start_up)
        assert gc.get_freeze_count() == frozen
    finally:
        unsettle()
    assert gc.get_freeze_count() == 0

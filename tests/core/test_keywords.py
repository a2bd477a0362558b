"""Which brand a message asks for, and which group takes the next person."""

from __future__ import annotations

import pytest

from core.keywords import (
    BrandWords,
    GroupState,
    Join,
    Placement,
    choose_group,
    match_brands,
    normalise_keyword,
    rotated,
)

BRANDS = (
    BrandWords("xinghuo", ("数学", "星火", "思维", "xinghuo")),
    BrandWords("huiben", ("阅读", "绘本", "英语 绘本")),
    BrandWords("kexue", ("科学", "实验", "KeXue")),
)


@pytest.mark.parametrize(
    ("text", "brands"),
    [
        ("数学", ("xinghuo",)),
        ("我想进数学群，谢谢", ("xinghuo",)),
        ("我想进 ＸＩＮＧ Huo 的群", ("xinghuo",)),
        ("XINGHUO", ("xinghuo",)),
        ("xinghuo群", ("xinghuo",)),
        ("英语绘本和数学都想了解", ("huiben", "xinghuo")),
        ("英 语 绘 本", ("huiben",)),
        ("科学 实验 科学", ("kexue",)),
        ("kexue!", ("kexue",)),
        ("xinghuotv", ()),
        ("abc xinghuo2", ()),
        ("你好", ()),
        ("", ()),
        ("   ", ()),
    ],
)
def test_a_message_asks_for_the_brands_whose_words_it_contains_in_the_order_they_appear(text, brands):
    assert match_brands(text, BRANDS) == brands


def test_where_words_of_two_brands_overlap_the_longer_word_wins():
    brands = (BrandWords("math", ("思维",)), BrandWords("mind-map", ("思维导图",)))

    assert match_brands("想学思维导图", brands) == ("mind-map",)
    assert match_brands("想学思维", brands) == ("math",)


def test_keywords_are_compared_without_width_case_or_spaces():
    assert normalise_keyword("Ｘｉｎｇ Huo") == "xinghuo"
    assert normalise_keyword("  数 学 ") == "数学"


def groups(*members: int, capacity: int = 450) -> list[GroupState]:
    return [GroupState(f"room-{i + 1}", m, capacity) for i, m in enumerate(members)]


def test_the_first_group_with_room_takes_the_person_directly_up_to_forty_members():
    assert choose_group(groups(12, 0), rollover_at=480) == Placement("room-1", Join.ADD)
    assert choose_group(groups(40), rollover_at=480) == Placement("room-1", Join.ADD)
    assert choose_group(groups(41), rollover_at=480) == Placement("room-1", Join.INVITE)


def test_a_group_is_full_at_its_capacity_or_the_rollover_cap_whichever_is_lower():
    assert choose_group(groups(450, 3), rollover_at=480) == Placement("room-2", Join.ADD)
    assert choose_group(groups(480, 100, capacity=500), rollover_at=480) == Placement("room-2", Join.INVITE)
    assert choose_group(groups(479, capacity=500), rollover_at=480) == Placement("room-1", Join.INVITE)


def test_where_nobody_can_be_added_directly_even_an_empty_group_takes_people_by_invitation():
    assert choose_group(groups(0, 0), rollover_at=480, direct_add_max=None) == Placement("room-1", Join.INVITE)
    assert choose_group(groups(450, 12), rollover_at=480, direct_add_max=None) == Placement("room-2", Join.INVITE)


def test_when_every_group_is_full_there_is_no_placement():
    assert choose_group(groups(450, 480), rollover_at=480) is None
    assert choose_group([], rollover_at=480) is None


def test_a_daily_post_starts_from_a_different_brand_each_day():
    assert rotated(["a", "b", "c"], 4) == ["b", "c", "a"]
    assert rotated(["a", "b", "c"], 3) == ["a", "b", "c"]
    assert rotated([], 7) == []

"""Texts within WeCom's size limits: a capped group's digest always fits one group message, and
a private message over the limit is split without losing a character."""

from __future__ import annotations

import doctest

from hypothesis import given, settings
from hypothesis import strategies as st

import core.post_fit
from core.post_fit import cut, fit_digest, size, split

GROUP_LIMIT, DM_LIMIT = 4000, 2048
# people's names, course titles, emoji: 1- to 4-byte characters, no line ends inside a line
line_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=300)
post_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6000)


def more(n: int) -> str:
    return f"……另有 {n} 单未逐条列出"


def test_the_worked_examples_in_the_module_hold():
    assert doctest.testmod(core.post_fit).failed == 0


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(line_text, max_size=400), others=st.lists(post_text, max_size=3),
       limit=st.sampled_from([200, 1000, GROUP_LIMIT]))
def test_any_digest_fits_one_group_message_and_stands_for_every_relay_line(lines, others, limit):
    fitted = fit_digest(lines, others, limit, more)
    assert size(fitted.text) <= limit
    assert fitted.listed + fitted.counted == len(lines)
    if fitted.counted:
        assert more(fitted.counted) in fitted.text


def test_a_day_of_relay_lines_lists_the_oldest_counts_the_rest_and_keeps_the_leaderboard_whole():
    lines = [f"{n}. 李** 出单 思维训练营 ×1" for n in range(1, 301)]
    board = "🏆 今日排行榜\n1. 张** 12 单\n2. 王** 9 单\n3. 赵** 7 单"
    fitted = fit_digest(lines, [board], GROUP_LIMIT, more)
    text = fitted.text
    assert size(text) <= GROUP_LIMIT
    assert text.startswith("1. 李** 出单 思维训练营 ×1\n2. ")
    assert text.endswith(board)
    assert f"……另有 {fitted.counted} 单未逐条列出" in text
    assert 100 < fitted.listed < 300


def test_a_digest_that_fits_is_the_lines_and_posts_as_they_are():
    fitted = fit_digest(["1. 李** 出单 数学 ×1", "2. 王** 出单 语文 ×2"], ["排行榜"], GROUP_LIMIT, more)
    assert fitted.text == "1. 李** 出单 数学 ×1\n2. 王** 出单 语文 ×2\n\n排行榜"
    assert (fitted.listed, fitted.counted) == (2, 0)


def test_an_overlong_announcement_alone_is_cut_at_a_line_end_with_an_ellipsis():
    text = "\n".join(["通知：今晚 8 点开课，请提前进群。"] * 200)
    fitted = fit_digest([], [text], GROUP_LIMIT, more)
    assert size(fitted.text) <= GROUP_LIMIT
    assert fitted.text.endswith("请提前进群。\n…")


@settings(max_examples=300, deadline=None)
@given(text=post_text, limit=st.sampled_from([8, 100, DM_LIMIT]))
def test_a_long_private_message_splits_into_parts_that_fit_and_lose_nothing(text, limit):
    parts = split(text, limit)
    assert all(size(p) <= limit for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")


def test_a_private_message_splits_at_line_ends_when_its_lines_fit():
    text = "\n".join(f"第 {n} 条：你的推广收益已到账 ¥12.50" for n in range(1, 101))
    parts = split(text, DM_LIMIT)
    assert len(parts) > 1
    assert "\n".join(parts) == text


@given(text=post_text, limit=st.integers(min_value=0, max_value=DM_LIMIT))
def test_cutting_never_exceeds_the_limit_nor_breaks_a_character(text, limit):
    out = cut(text, limit)
    assert size(out) <= limit
    assert out == text or out.endswith("…") or out == ""

"""The what-if chart without a database: the hand-checked history of tests/core/test_whatif.py
drawn with and without a CJK font, and the short amounts its labels use."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from PIL import Image

import bot.base.poster
from bot.cli.whatif_chart import nice_step, render_chart, short
from bot.cli.whatif_report import build_report
from core.whatif import replay
from services.whatif import EventSpan, Inputs
from tests.core.test_whatif import HISTORY, MEMBERS, SALES, TEAM, TERMS
from tests.support import demo_settings


def report() -> dict:
    result = replay(MEMBERS, HISTORY, [TEAM, SALES], TERMS)
    people = {m.id: (m.code, m.name or m.code) for m in MEMBERS}
    events = sorted(HISTORY, key=lambda e: e.at)
    levels = {m.id: m.level for m in MEMBERS}
    inputs = Inputs(MEMBERS, events, len(events), EventSpan.of(events), people, levels, {}, [], "history")
    return build_report(demo_settings(), result, inputs, [TEAM, SALES], None, Decimal("100.00"))


def test_the_chart_is_drawn_with_english_labels_when_no_chinese_font_is_found(tmp_path, monkeypatch):
    def no_font():
        raise bot.base.poster.PosterFontMissing("no CJK font")

    monkeypatch.setattr(bot.base.poster, "find_font", no_font)
    render_chart(report(), tmp_path / "chart.png")
    with Image.open(tmp_path / "chart.png") as image:
        assert (image.format, image.size) == ("PNG", (1400, 760))


def test_the_bars_of_each_level_are_as_tall_as_the_plans_earnings_at_that_level(tmp_path):
    render_chart(report(), tmp_path / "chart.png")
    with Image.open(tmp_path / "chart.png") as image:
        pixels = image.convert("RGB")
        # Level B: team 573.33 (blue) is taller than sales 379.80 (orange); the axis tops at 600.
        column = {colour: [y for y in range(760) if pixels.getpixel((x, y)) == colour] for x, colour in _b_bars(pixels)}
    blue, orange = column[(51, 102, 204)], column[(255, 136, 34)]
    assert len(blue) > len(orange) > 0
    assert abs(Fraction(len(blue), len(orange)) - Fraction(57333, 37980)) < Fraction(3, 100)  # pixels ∝ yuan


def _b_bars(pixels) -> list[tuple[int, tuple[int, int, int]]]:
    """One x inside each of level B's two bars (the middle group), found along the baseline."""
    found = {}
    for x in range(330, 560):
        colour = pixels.getpixel((x, 620))
        if colour in ((51, 102, 204), (255, 136, 34)) and colour not in found:
            found[colour] = x + 5
    return [(x, colour) for colour, x in found.items()]


@pytest.mark.parametrize(
    ("amount", "tick", "text"),
    [
        ("573.33", False, "573.33"),
        ("12345.67", False, "12.3k"),
        ("111389409.02", False, "111.4M"),
        ("2000000", False, "2M"),
        ("600", True, "600"),
        ("0.5", True, "0.50"),
    ],
)
def test_amounts_on_the_chart_are_shortened_past_ten_thousand(amount, tick, text):
    assert short(Decimal(amount), tick=tick) == text


@pytest.mark.parametrize(("top", "step"), [("573.33", "200"), ("95.2", "20"), ("1", "0.2"), ("0", "1")])
def test_the_axis_steps_are_round_numbers(top, step):
    assert nice_step(Decimal(top)) == Decimal(step)

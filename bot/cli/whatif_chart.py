"""The what-if chart (``--chart PATH.png``), drawn with Pillow from the report of
:mod:`bot.cli.whatif_report`: on the left, earnings by level as grouped bars (one bar per plan); on
the right, the concentration (Lorenz) curve, one line per plan, against the line of equality.

Labels are Chinese and English when a CJK font is found (the one the leaderboard poster uses:
:func:`bot.base.poster.find_font`), English alone otherwise. Drawn at twice the size and scaled down,
so lines and text are smooth. Positions are computed with exact fractions, then rounded to
whole pixels; no amount ever passes through a float.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from core.money import yuan

WIDTH, HEIGHT, SCALE = 1400, 760, 2
PAPER, INK, GREY, GRID = (255, 255, 255), (40, 40, 40), (120, 120, 120), (228, 228, 228)
COLOURS = [(51, 102, 204), (255, 136, 34), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _fonts() -> tuple[bool, Any]:
    """(CJK available, a function size → font)."""
    try:
        from bot.base.poster import find_font

        path, index = find_font()
    except Exception:  # PosterFontMissing, or the poster module not importable: English labels
        return False, lambda size: ImageFont.load_default(size * SCALE)
    return True, functools.cache(lambda size: ImageFont.truetype(str(path), size * SCALE, index=index))  # per size


def _label(cjk: bool, chinese: str, english: str) -> str:
    return f"{chinese} {english}" if cjk else english


def _px(value: Fraction | int) -> int:
    return round(Fraction(value) * SCALE)


def nice_step(top: Decimal, ticks: int = 5) -> Decimal:
    """A round step (1, 2, 2.5 or 5 × 10ⁿ) giving about ``ticks`` steps up to ``top``."""
    if top <= 0:
        return Decimal(1)
    raw = top / ticks
    power = Decimal(10) ** (raw.adjusted())
    for factor in (1, 2, Decimal("2.5"), 5, 10):
        if power * factor >= raw:
            return power * factor
    return power * 10


def render_chart(report: dict[str, Any], path: Path) -> None:
    """Write the chart of ``report`` as a PNG at ``path``."""
    cjk, font = _fonts()
    image = Image.new("RGB", (WIDTH * SCALE, HEIGHT * SCALE), PAPER)
    draw = ImageDraw.Draw(image)
    plans = report["plans"]
    start = report["window"]["from"] or report["window"]["first_event"]
    end = report["window"]["to"] or report["window"]["last_event"]
    span = (" → " if cjk else " to ").join(m.strftime("%Y-%m-%d") for m in (start, end) if m is not None)
    title = _label(cjk, "计划模拟", "Plan what-if") + (f" · {span}" if span else "")
    draw.text((_px(40), _px(22)), title, font=font(26), fill=INK)
    orders, people = f"{report['orders']:,}", f"{report['distributors']:,}"
    subtitle = (
        f"订单 {orders} orders · 分销员 {people} distributors · 金额 元 amounts in yuan"
        if cjk
        else f"{orders} orders · {people} distributors · amounts in yuan"
    )
    draw.text((_px(40), _px(60)), subtitle, font=font(15), fill=GREY)
    _bars(draw, font, cjk, plans, (80, 150, 700, 630))
    _lorenz(draw, font, cjk, plans, (820, 150, 1330, 630))
    _legend(draw, font, cjk, plans, (80, 700))
    image = image.reduce(SCALE)  # each pixel the mean of the SCALE × SCALE drawn: smooth edges, quickly
    image.save(path, format="PNG")


def _bars(
    draw: ImageDraw.ImageDraw, font: Any, cjk: bool, plans: Sequence[dict[str, Any]], box: tuple[int, ...]
) -> None:
    left, top, right, bottom = box
    draw.text((_px(left), _px(top - 40)), _label(cjk, "按级别收益", "Earnings by level"), font=font(19), fill=INK)
    levels = list(plans[0]["by_level"])
    highest = max([p["by_level"][lvl] for p in plans for lvl in levels] + [Decimal(0)])
    step = nice_step(highest)
    ceiling = step * max(1, math.ceil(Fraction(highest) / Fraction(step)))
    height = bottom - top
    tick = Decimal(0)
    while tick <= ceiling:
        y = bottom - Fraction(tick) / Fraction(ceiling) * height
        draw.line((_px(left), _px(y), _px(right), _px(y)), fill=GRID, width=SCALE)
        text = short(tick, tick=True)
        width = draw.textlength(text, font=font(13))
        draw.text((_px(left - 8) - width, _px(y - 9)), text, font=font(13), fill=GREY)
        tick += step
    group = Fraction(right - left, len(levels))
    bar = min(Fraction(70), group * Fraction(7, 10) / len(plans))
    for i, level in enumerate(levels):
        middle = left + group * i + group / 2
        first = middle - bar * len(plans) / 2
        for j, plan in enumerate(plans):
            amount = plan["by_level"][level]
            x0, x1 = first + bar * j + 2, first + bar * (j + 1) - 2
            y = bottom - Fraction(amount) / Fraction(ceiling) * height
            draw.rectangle((_px(x0), _px(y), _px(x1), _px(bottom)), fill=COLOURS[j % len(COLOURS)])
            label = short(amount)
            size = 12
            while size > 8 and draw.textlength(label, font=font(size)) > _px(x1 - x0 + 6):
                size -= 1
            width = draw.textlength(label, font=font(size))
            draw.text((_px((x0 + x1) / 2) - width / 2, _px(y - 18)), label, font=font(size), fill=INK)
        name = _label(cjk, "级别", "level") + f" {level}"
        width = draw.textlength(name, font=font(15))
        draw.text((_px(middle) - width / 2, _px(bottom + 10)), name, font=font(15), fill=INK)
    draw.line((_px(left), _px(bottom), _px(right), _px(bottom)), fill=INK, width=SCALE)


def _lorenz(
    draw: ImageDraw.ImageDraw, font: Any, cjk: bool, plans: Sequence[dict[str, Any]], box: tuple[int, ...]
) -> None:
    left, top, right, bottom = box
    title = _label(cjk, "收益集中度（洛伦兹曲线）", "Concentration (Lorenz curve)")
    draw.text((_px(left), _px(top - 40)), title, font=font(19), fill=INK)
    width, height = right - left, bottom - top

    def point(x: Fraction, y: Fraction) -> tuple[int, int]:
        return _px(left + x * width), _px(bottom - y * height)

    for k in range(0, 11, 2):
        share = Fraction(k, 10)
        draw.line((*point(share, Fraction(0)), *point(share, Fraction(1))), fill=GRID, width=SCALE)
        draw.line((*point(Fraction(0), share), *point(Fraction(1), share)), fill=GRID, width=SCALE)
        label = f"{k * 10}%"
        text_width = draw.textlength(label, font=font(13))
        x, y = point(share, Fraction(0))
        draw.text((x - text_width / 2, y + _px(6)), label, font=font(13), fill=GREY)
        x, y = point(Fraction(0), share)
        draw.text((x - text_width - _px(8), y - _px(9)), label, font=font(13), fill=GREY)
    _dashed(draw, point(Fraction(0), Fraction(0)), point(Fraction(1), Fraction(1)))
    draw.text(point(Fraction(8, 100), Fraction(40, 100)), _label(cjk, "完全平均", "equality"), font=font(13), fill=GREY)
    for j, plan in enumerate(plans):
        curve = [point(Fraction(Decimal(x)), Fraction(Decimal(y))) for x, y in plan["concentration"]["lorenz"]]
        draw.line(curve, fill=COLOURS[j % len(COLOURS)], width=3 * SCALE, joint="curve")
    draw.rectangle((*point(Fraction(0), Fraction(1)), *point(Fraction(1), Fraction(0))), outline=INK, width=SCALE)
    x_label = _label(cjk, "分销员（收益从低到高）", "distributors, lowest earnings first")
    text_width = draw.textlength(x_label, font=font(14))
    draw.text((_px(left + Fraction(width, 2)) - text_width / 2, _px(bottom + 30)), x_label, font=font(14), fill=INK)
    draw.text((_px(left + 8), _px(top + 6)), _label(cjk, "累计收益占比", "share of earnings"), font=font(14), fill=INK)


def _dashed(draw: ImageDraw.ImageDraw, start: tuple[int, int], end: tuple[int, int], dashes: int = 40) -> None:
    (x0, y0), (x1, y1) = start, end
    for i in range(0, dashes, 2):
        a, b = Fraction(i, dashes), Fraction(i + 1, dashes)
        segment = (
            round(x0 + (x1 - x0) * a),
            round(y0 + (y1 - y0) * a),
            round(x0 + (x1 - x0) * b),
            round(y0 + (y1 - y0) * b),
        )
        draw.line(segment, fill=GREY, width=SCALE * 2)


def _legend(
    draw: ImageDraw.ImageDraw, font: Any, cjk: bool, plans: Sequence[dict[str, Any]], at: tuple[int, int]
) -> None:
    """One entry per plan, left to right, continuing on the next line when the row is full."""
    x, y = at
    size = 15 if len(plans) <= 3 else 13
    for j, plan in enumerate(plans):
        gini = plan["concentration"]["gini"]
        text = f"{plan['name']}{' —' if cjk else ':'} " + _label(cjk, "分给分销员", "paid")
        text += f" {yuan(plan['paid'])} · Gini {gini}"
        width = 30 + round(draw.textlength(text, font=font(size)) / SCALE)
        if x > at[0] and x + width > WIDTH - 20:
            x, y = at[0], y + 24
        draw.rectangle((_px(x), _px(y + 2), _px(x + 22), _px(y + 18)), fill=COLOURS[j % len(COLOURS)])
        draw.text((_px(x + 30), _px(y - 2)), text, font=font(size), fill=INK)
        x += width + 36


def short(amount: Decimal, tick: bool = False) -> str:
    """An amount short enough for a chart: 1,234.56 below ten thousand (a tick: 1,500), then
    12.3k, then 4.5M."""
    amount = Decimal(amount)
    for unit, suffix in ((1_000_000, "M"), (10_000, "k")):
        if abs(amount) >= unit:
            value = amount / (1_000 if suffix == "k" else unit)
            return f"{value:,.1f}".rstrip("0").rstrip(".") + suffix
    if tick:
        return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    return yuan(amount)

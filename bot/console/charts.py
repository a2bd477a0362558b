"""A small horizontal bar chart as data for an inline SVG (drawn by the template)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from core.money import yuan

ROW, LABEL, WIDTH = 30, 96, 520


def bar_chart(rows: Sequence[tuple[int, str, Decimal | int]], *, money: bool) -> dict[str, Any]:
    """Bars scaled to the largest value; ``height`` and ``width`` for the viewBox."""
    top = max((Decimal(v) for _, _, v in rows), default=Decimal(0))
    span = WIDTH - LABEL - 80
    bars = []
    for index, (rank, label, value) in enumerate(rows):
        length = int(span * Decimal(value) / top) if top > 0 else 0
        bars.append(
            {
                "label": f"{rank}. {label}",
                "text": yuan(Decimal(value)) if money else str(value),
                "y": index * ROW,
                "x": LABEL,
                "length": max(length, 2),
            }
        )
    return {"bars": bars, "height": max(ROW, len(rows) * ROW), "width": WIDTH, "label": LABEL, "row": ROW}


# --- Columns per day (the overview): stacked by series (brands), on a labelled axis. ---

PALETTE = ("#0f766e", "#b45309", "#6d28d9", "#be123c", "#0369a1", "#4d7c0f", "#a21caf", "#475569")
COLUMNS = {"width": 640, "height": 210, "left": 78, "right": 8, "top": 12, "bottom": 26}


def axis_top(value: Decimal) -> Decimal:
    """The top of an axis drawn in four equal steps: the smallest 4 × step reaching ``value``
    where the step is 1, 2 or 5 × 10ⁿ (or 2.5 × 10ⁿ above 10), so every gridline is a round
    figure and counts never get a gridline at 2.5.

    >>> axis_top(Decimal("7581")), axis_top(Decimal(9)), axis_top(Decimal(0)), axis_top(Decimal(90))
    (Decimal('8000'), Decimal('20'), Decimal('4'), Decimal('100'))
    """
    exponent = 0
    while True:
        factors: tuple[Decimal, ...] = (
            Decimal(1),
            Decimal(2),
            *(() if exponent == 0 else (Decimal("2.5"),)),
            Decimal(5),
        )
        for factor in factors:
            step = factor * Decimal(10) ** exponent
            if step * 4 >= value:
                return (step * 4).quantize(Decimal(1))
        exponent += 1


def column_chart(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[Decimal | int]]], *, money: bool, unit: str
) -> dict[str, Any]:
    """One column per label (a day), one stacked segment per series (a brand): geometry for
    an inline SVG, each segment with a title (``11-25 星火思维：1,234.00 元``) for hovering."""
    g = COLUMNS
    plot_w, plot_h = g["width"] - g["left"] - g["right"], g["height"] - g["top"] - g["bottom"]
    totals = [sum((Decimal(s[1][i]) for s in series), Decimal(0)) for i in range(len(labels))]
    top = axis_top(max(totals, default=Decimal(0)))
    slot = Decimal(plot_w) / max(1, len(labels))
    fmt: Callable[[Decimal | int], str] = (lambda v: yuan(Decimal(v))) if money else (lambda v: f"{int(v):,}")
    columns = []
    for i, label in enumerate(labels):
        x = Decimal(g["left"]) + slot * i + slot * Decimal("0.15")
        base = Decimal(g["top"] + plot_h)
        segments = []
        for index, (name, values) in enumerate(series):
            value = Decimal(values[i])
            if value <= 0:
                continue
            height = Decimal(plot_h) * value / top
            base -= height
            segments.append(
                {"y": _px(base), "height": _px(height), "color": PALETTE[index % len(PALETTE)],
                 "title": f"{label} {name}：{fmt(values[i])} {unit}".rstrip()}
            )  # fmt: skip
        columns.append(
            {"x": _px(x), "width": _px(slot * Decimal("0.7")), "label_x": _px(x + slot * Decimal("0.35")),
             "label": label, "total": fmt(totals[i]), "segments": segments}
        )  # fmt: skip
    gridlines = [
        {"y": _px(Decimal(g["top"]) + Decimal(plot_h) * (4 - k) / 4), "text": fmt(top * k / 4)} for k in range(5)
    ]
    legend = [{"name": name, "color": PALETTE[i % len(PALETTE)]} for i, (name, _) in enumerate(series)]
    return {**g, "columns": columns, "gridlines": gridlines, "legend": legend, "x0": g["left"],
            "x1": g["width"] - g["right"], "baseline": g["top"] + plot_h}  # fmt: skip


def _px(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.1'))}"

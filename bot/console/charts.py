"""A small horizontal bar chart as data for an inline SVG (drawn by the template)."""

from __future__ import annotations

from collections.abc import Sequence
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

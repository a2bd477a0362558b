"""Whether a picture holds a QR code: its three finder patterns, found in the pixels.

Every QR code carries three finder patterns at three of its corners: a dark square ring, a
light ring, a dark 3×3 core — along any line through its centre the runs read dark, light,
dark, light, dark in the ratio 1:1:3:1:1. :func:`has_qr_code` scans the rows of a grayscale
picture for that ratio, checks each hit along the column through it, groups the hits into
patterns and answers True when three patterns of about the same module size stand as a QR
code's do: two sides of about equal length at a right angle (the third side √2 as long).

It decodes nothing, and needs no library: plain bytes in (one byte per pixel, rows top to
bottom), a yes or no out. Pictures are best scaled to at most a few hundred pixels a side
first (the caller does): a QR code of 21 modules over 100 pixels still has ~5 pixels a module.

Example: a 25×25-module QR code drawn 4 pixels a module with a 4-module margin (132×132
pixels) → three patterns, each 7 modules (28 pixels) wide, centred at (30, 30), (102, 30) and
(30, 102): sides 72, 72 and 101.8 ≈ 72·√2 → True. A photo of a classroom → no three patterns
in that shape → False.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

RATIO = (1, 1, 3, 1, 1)
MIN_MODULE = 1.5  # pixels: finer than this, speckle reads as patterns everywhere


@dataclass
class _Pattern:
    x: float
    y: float
    module: float
    hits: int = 1


def _threshold(pixels: bytes) -> int:
    """Midway between the darkest and lightest tenth of the picture."""
    histogram = [0] * 256
    for value in pixels:
        histogram[value] += 1
    total, tenth = len(pixels), max(1, len(pixels) // 10)
    seen, dark = 0, 0
    for value in range(256):
        seen += histogram[value]
        if seen >= tenth:
            dark = value
            break
    seen, light = 0, 255
    for value in range(255, -1, -1):
        seen += histogram[value]
        if seen >= tenth:
            light = value
            break
    return (dark + light) // 2 if total else 128


def _fits(runs: list[int]) -> float | None:
    """The module size if five runs read 1:1:3:1:1 (within half a module each), else None."""
    total = sum(runs)
    if total < 7:
        return None
    module = total / 7
    for run, expected in zip(runs, RATIO, strict=True):
        if abs(run - expected * module) > module * (0.5 if expected == 1 else 0.75) + 0.5:
            return None
    return module


def _runs(line: list[bool]) -> list[tuple[bool, int, int]]:
    """(dark, start, length) of each run along a line."""
    out: list[tuple[bool, int, int]] = []
    start = 0
    for i in range(1, len(line) + 1):
        if i == len(line) or line[i] != line[start]:
            out.append((line[start], start, i - start))
            start = i
    return out


def _column_centre(
    dark: list[list[bool]], columns: dict[int, list[tuple[bool, int, int]]], x: int, y: int, module: float
) -> float | None:
    """Check the column through (x, y) reads 1:1:3:1:1 with about the same module; its centre."""
    if x not in columns:
        columns[x] = _runs([row[x] for row in dark])
    runs = columns[x]
    for index, (is_dark, start, length) in enumerate(runs):
        if is_dark and start <= y < start + length:
            if index < 2 or index + 2 >= len(runs):
                return None
            five = runs[index - 2 : index + 3]
            if [r[0] for r in five] != [True, False, True, False, True]:
                return None
            found = _fits([r[2] for r in five])
            if found is None or not 0.6 < found / module < 1.6:
                return None
            return start + length / 2
    return None


def _finder_module(row: int, col: int) -> bool:
    """Whether module (row, col) of a 7×7 finder pattern is dark: the ring, then the 3×3 core."""
    ring = max(abs(row - 3), abs(col - 3))
    return ring != 2


def _square_matches(dark: list[list[bool]], x: float, y: float, module: float) -> bool:
    """The 7×7 modules around (x, y), sampled at their centres, read as a finder pattern (all
    but two of the 49): random speckle that happens to fit 1:1:3:1:1 on two lines does not."""
    height, width = len(dark), len(dark[0])
    wrong = 0
    for row in range(7):
        for col in range(7):
            px, py = int(x + (col - 3) * module), int(y + (row - 3) * module)
            if not (0 <= px < width and 0 <= py < height) or dark[py][px] != _finder_module(row, col):
                wrong += 1
                if wrong > 2:
                    return False
    return True


def finder_patterns(pixels: bytes, width: int, height: int) -> list[tuple[float, float, float]]:
    """The finder patterns found: (x, y, module size) of each, the most often seen first."""
    if width * height != len(pixels) or width < 21 or height < 21:
        return []
    cut = _threshold(pixels)
    dark = [[pixels[y * width + x] < cut for x in range(width)] for y in range(height)]
    patterns: list[_Pattern] = []
    columns: dict[int, list[tuple[bool, int, int]]] = {}
    for y in range(height):
        runs = _runs(dark[y])
        for i in range(len(runs) - 4):
            five = runs[i : i + 5]
            if not five[0][0]:
                continue
            module = _fits([r[2] for r in five])
            if module is None or module < MIN_MODULE:
                continue
            centre_x = five[2][1] + five[2][2] / 2
            centre_y = _column_centre(dark, columns, int(centre_x), y, module)
            if centre_y is None or not _square_matches(dark, centre_x, centre_y, module):
                continue
            for p in patterns:
                if math.hypot(p.x - centre_x, p.y - centre_y) < p.module * 3:
                    p.hits += 1
                    break
            else:
                patterns.append(_Pattern(centre_x, centre_y, module))
    # A real pattern is crossed by every row through its core: seen on several rows.
    patterns = sorted((p for p in patterns if p.hits >= max(3, p.module)), key=lambda p: -p.hits)
    return [(p.x, p.y, p.module) for p in patterns]


def has_qr_code(pixels: bytes, width: int, height: int) -> bool:
    """True when three finder patterns of about one module size stand at a right angle with two
    equal sides, as a QR code's do (see the module's docstring)."""
    found = [p for p in finder_patterns(pixels, width, height)][:12]
    for i, a in enumerate(found):
        for j in range(i + 1, len(found)):
            for k in range(j + 1, len(found)):
                b, c = found[j], found[k]
                modules = (a[2], b[2], c[2])
                if max(modules) > 1.5 * min(modules):
                    continue
                sides = sorted(math.dist(p[:2], q[:2]) for p, q in ((a, b), (b, c), (a, c)))
                short, middle, long = sides
                if short < 7 * min(modules):
                    continue
                if middle / short < 1.2 and abs(long / middle - math.sqrt(2)) < 0.2:
                    return True
    return False

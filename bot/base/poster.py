"""The leaderboard poster: a PNG drawn with Pillow, sent in a brand group as an image.

Every word on it comes from the template ``leaderboard_poster`` (see :func:`poster_from_text`);
this module only lays it out. Chinese needs a CJK font, which the project installs itself:
the ``pylopdf-fonts-zh-cn`` dependency ships Noto Sans SC (SIL OFL). :func:`find_font` looks,
in order, at ``DISTBOT_POSTER_FONT`` (a path to any .otf/.ttf/.ttc with Chinese glyphs), that
package, then the usual Debian font files (fonts-noto-cjk, fonts-wqy-microhei,
fonts-wqy-zenhei); a font that draws "榜" the same as a character it lacks is passed over.
None found → :class:`PosterFontMissing`, saying what to install.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH = 750
HEADER = 300
ROW = 96
GAP = 24  # between the header and the first row, and around the list
FOOTER = 90
FONT_ENV = "DISTBOT_POSTER_FONT"
SYSTEM_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # face 2: Simplified Chinese
    ("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
)
INSTALL_HINT = (
    "no CJK font for the leaderboard poster: install the project's dependencies (pip install -e ., which "
    "brings pylopdf-fonts-zh-cn), or apt-get install fonts-noto-cjk, or set DISTBOT_POSTER_FONT to a font "
    "file with Chinese glyphs"
)

RED, ORANGE = (214, 48, 49), (255, 128, 64)
INK, GREY, PAPER, CARD = (51, 51, 51), (140, 140, 140), (255, 246, 240), (255, 255, 255)
MEDALS = {1: (245, 179, 1), 2: (158, 170, 184), 3: (205, 127, 50)}


class PosterFontMissing(RuntimeError):
    """No usable CJK font: the poster cannot be drawn (the text leaderboard still goes out)."""


@dataclass(frozen=True)
class PosterRow:
    rank: int
    name: str  # already masked
    value: str  # already formatted, e.g. "1,197.00 元"


@dataclass(frozen=True)
class Poster:
    platform: str
    title: str
    subtitle: str
    footer: str
    empty: str  # shown when there are no rows
    rows: tuple[PosterRow, ...]


def poster_from_text(text: str) -> Poster:
    """The poster's words from the rendered ``leaderboard_poster`` template: five lines
    (platform, title, subtitle, footer, the no-rows line), then one line per row with rank,
    name and value separated by tabs."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    head = [line for line in lines if "\t" not in line]
    head += [""] * (5 - len(head))
    rows = []
    for line in lines:
        if "\t" in line:
            rank, name, value = (part.strip() for part in line.split("\t", 2))
            rows.append(PosterRow(int(rank), name, value))
    return Poster(head[0], head[1], head[2], head[3], head[4], tuple(rows))


def poster_size(rows: int) -> tuple[int, int]:
    """Width and height of a poster with ``rows`` rows (an empty board has room for one line)."""
    return WIDTH, HEADER + GAP + max(rows, 1) * ROW + GAP + FOOTER


def _draws_cjk(font: ImageFont.FreeTypeFont) -> bool:
    """A font without Chinese draws "榜" as its missing-glyph box, like a private-use character."""
    return bytes(font.getmask("榜")) != bytes(font.getmask("\ue000"))


def _candidates() -> list[tuple[Path, int]]:
    if explicit := os.environ.get(FONT_ENV):
        return [(Path(explicit), 0)]
    found: list[tuple[Path, int]] = []
    try:
        found.append((Path(str(resources.files("pylopdf_fonts_zh_cn").joinpath("NotoSansSC-Regular.otf"))), 0))
    except ModuleNotFoundError:
        pass
    return found + [(Path(path), index) for path, index in SYSTEM_FONTS]


@cache
def find_font() -> tuple[Path, int]:
    """The font file (and face index) the poster is drawn with; see the module docstring."""
    tried = []
    for path, index in _candidates():
        if not path.is_file():
            tried.append(f"{path} (missing)")
            continue
        try:
            font = ImageFont.truetype(str(path), 24, index=index)
        except OSError as error:
            tried.append(f"{path} ({error})")
            continue
        if _draws_cjk(font):
            return path, index
        tried.append(f"{path} (no Chinese glyphs)")
    raise PosterFontMissing(f"{INSTALL_HINT}; tried: {'; '.join(tried)}")


@cache
def font(size: int) -> ImageFont.FreeTypeFont:
    path, index = find_font()
    return ImageFont.truetype(str(path), size, index=index)


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> ImageFont.FreeTypeFont:
    """The largest font size up to ``size`` at which ``text`` fits in ``width`` pixels."""
    while size > 14 and draw.textlength(text, font=font(size)) > width:
        size -= 2
    return font(size)


def render_poster(poster: Poster) -> bytes:
    """The poster as PNG bytes."""
    width, height = poster_size(len(poster.rows))
    image = Image.new("RGB", (width, height), PAPER)
    draw = ImageDraw.Draw(image)
    _header(image, poster)
    top = HEADER + GAP
    if not poster.rows:
        draw.rounded_rectangle((GAP, top, width - GAP, top + ROW - 12), radius=18, fill=CARD)
        draw.text((width // 2, top + (ROW - 12) // 2), poster.empty, font=font(32), fill=GREY, anchor="mm")
    for i, row in enumerate(poster.rows):
        _row(draw, row, top + i * ROW)
    footer_top = height - FOOTER
    draw.line((GAP * 2, footer_top + 10, width - GAP * 2, footer_top + 10), fill=(235, 215, 205), width=2)
    draw.text(
        (width // 2, footer_top + 50),
        poster.footer,
        font=_fit(draw, poster.footer, 22, width - 80),
        fill=GREY,
        anchor="mm",
    )
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _header(image: Image.Image, poster: Poster) -> None:
    band = Image.new("RGB", (WIDTH, HEADER))
    draw = ImageDraw.Draw(band)
    for y in range(HEADER):  # a vertical red-to-orange gradient
        t = y / (HEADER - 1)
        draw.line((0, y, WIDTH, y), fill=tuple(round(a + (b - a) * t) for a, b in zip(RED, ORANGE, strict=True)))
    draw.ellipse((WIDTH - 170, -90, WIDTH + 90, 170), fill=(255, 150, 90))  # soft discs for depth
    draw.ellipse((-90, HEADER - 120, 110, HEADER + 80), fill=(240, 100, 60))
    draw.text((WIDTH // 2, 58), poster.platform, font=font(28), fill=(255, 228, 214), anchor="mm")
    title = _fit(draw, poster.title, 56, WIDTH - 80)
    draw.text(
        (WIDTH // 2, 140), poster.title, font=title, fill="white", anchor="mm", stroke_width=1, stroke_fill="white"
    )
    pill = _fit(draw, poster.subtitle, 28, WIDTH - 160)
    length = draw.textlength(poster.subtitle, font=pill)
    draw.rounded_rectangle(
        ((WIDTH - length) / 2 - 28, 204, (WIDTH + length) / 2 + 28, 256), radius=26, fill=(255, 236, 224)
    )
    draw.text((WIDTH // 2, 230), poster.subtitle, font=pill, fill=RED, anchor="mm")
    image.paste(band, (0, 0))


def _row(draw: ImageDraw.ImageDraw, row: PosterRow, top: int) -> None:
    card = (GAP, top, WIDTH - GAP, top + ROW - 12)
    middle = top + (ROW - 12) // 2
    draw.rounded_rectangle(card, radius=18, fill=CARD, outline=(250, 225, 210) if row.rank > 3 else None)
    centre = (GAP + 58, middle)
    if row.rank in MEDALS:
        draw.ellipse((centre[0] - 28, middle - 28, centre[0] + 28, middle + 28), fill=MEDALS[row.rank])
        draw.text(centre, str(row.rank), font=font(30), fill="white", anchor="mm", stroke_width=1, stroke_fill="white")
    else:
        draw.text(centre, str(row.rank), font=font(30), fill=GREY, anchor="mm")
    draw.text((GAP + 112, middle), row.name, font=font(34), fill=INK, anchor="lm")
    value = _fit(draw, row.value, 34, 300)
    draw.text((WIDTH - GAP - 28, middle), row.value, font=value, fill=RED, anchor="rm", stroke_width=1, stroke_fill=RED)

"""What group moderation costs a brand-group message, beside a baseline measured in the same
run: judging a text message (core.moderation.judge) against reading its text (normalising it,
as every router's filter does), and finding a QR code in a picture (core.qr, after Pillow
decodes and scales it) against Pillow's decoding and scaling alone.

    .venv/bin/python bench/moderation.py [--runs 7]

Each figure is min / median / max over the runs, per message or per picture.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import unicodedata
from collections.abc import Callable

import qrcode
from PIL import Image, ImageDraw

from core.moderation import Limits, Seen, judge
from services.moderation import PICTURE_SIDE, picture_has_qr

TEXTS = [
    "今天的课很有意思，孩子很喜欢",
    "请问秋季课什么时候开始上课？",
    "低价网课 加V了解 http://ad.example/x",
    "我的小店 https://shop.example/lina 欢迎来看",
    "排行榜",
] * 200
LIMITS = Limits(words=("加微信", "加v", "加我微信", "私聊领取", "兼职刷单", "代理招募", "免费领课"))


def png(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def pictures() -> dict[str, bytes]:
    photo = Image.new("RGB", (1080, 1440), "#d8c8b0")
    draw = ImageDraw.Draw(photo)
    for i in range(0, 1080, 60):
        draw.rectangle((i, 200 + i // 3, i + 40, 900), fill=(i % 255, 120, 200 - i % 200))
    poster = photo.copy()
    poster.paste(qrcode.make("https://ad.example/group").get_image().convert("RGB").resize((300, 300)), (700, 1050))
    return {"order screenshot 1080×1440 (no QR code)": png(photo), "ad poster 1080×1440 with a QR code": png(poster)}


def decode_only(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as picture:
        gray = picture.convert("L")
    gray.thumbnail((PICTURE_SIDE, PICTURE_SIDE))


def per_item(work: Callable[[], None], items: int, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) / items)
    return times


def show(name: str, times: list[float], unit: float, label: str, base: list[float] | None = None) -> None:
    figures = f"{min(times) * unit:.3f} / {statistics.median(times) * unit:.3f} / {max(times) * unit:.3f} {label}"
    ratio = f"  ({statistics.median(times) / statistics.median(base):.1f}× the baseline)" if base else ""
    print(f"  {name:<44} {figures}{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    print(f"text messages ({len(TEXTS)} a run, min / median / max per message):")
    base = per_item(lambda: [unicodedata.normalize("NFKC", t).lower().split() for t in TEXTS], len(TEXTS), runs)
    show("normalise the text (baseline)", base, 1e6, "µs")
    judged = per_item(lambda: [judge(LIMITS, Seen(t)) for t in TEXTS], len(TEXTS), runs)
    show("judge it (words, link, mentions, flood)", judged, 1e6, "µs", base)
    print("pictures (min / median / max per picture):")
    for name, data in pictures().items():
        decoded = per_item(lambda data=data: decode_only(data), 1, runs)
        found = per_item(lambda data=data: picture_has_qr(data), 1, runs)
        print(f"  {name}: QR code {'found' if picture_has_qr(data) else 'not found'}")
        show("decode and scale to 400 px (baseline)", decoded, 1e3, "ms")
        show("… and look for a QR code", found, 1e3, "ms", decoded)


if __name__ == "__main__":
    main()

"""The leaderboard as people in a brand group see it: a text and a PNG poster drawn with the
CJK font the project installs, names masked, amounts in yuan."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

import pytest
from PIL import Image, ImageChops, ImageFont

from bot.base import poster
from bot.base.poster import GAP, HEADER, ROW, WIDTH, Poster, PosterFontMissing, PosterRow, poster_size, render_poster
from bot.base.render import Renderer
from tests.samples_groups import BOARD
from tests.support import START, order_event, post_event
from tests.test_group_ops import HB, MANAGER, XH1, XH2, rows, run, say

SAMPLE = Poster(
    platform="童趣优课",
    title="星火思维·销售额排行榜",
    subtitle="本周 · 11月23日起",
    footer="截至 2026-11-25 10:00 · 姓名已隐藏",
    empty="暂时还没有出单，快来抢第一单！",
    rows=(PosterRow(1, "李**", "1,197.00 元"), PosterRow(2, "张**", "399.00 元"), PosterRow(3, "王**", "9.90 元")),
)


def png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def name_area(image: Image.Image, row: int) -> Image.Image:
    top = HEADER + GAP + row * ROW
    return image.crop((GAP + 100, top + 10, GAP + 300, top + ROW - 22))


@pytest.fixture
def fresh_font_lookup():
    poster.find_font.cache_clear()
    poster.font.cache_clear()
    yield
    poster.find_font.cache_clear()
    poster.font.cache_clear()


def test_the_poster_is_a_png_whose_height_follows_its_rows():
    image = png(render_poster(SAMPLE))

    assert (image.format, image.size) == ("PNG", poster_size(3)) == ("PNG", (WIDTH, HEADER + 2 * GAP + 3 * ROW + 90))
    assert png(render_poster(Poster(*[*vars(SAMPLE).values()][:5], rows=()))).size == poster_size(1)


def test_the_names_on_the_poster_are_drawn_in_chinese_not_as_missing_glyph_boxes():
    drawn = png(render_poster(SAMPLE)).convert("RGB")
    blank_names = Poster(**{**vars(SAMPLE), "rows": tuple(PosterRow(r.rank, "", r.value) for r in SAMPLE.rows)})
    without = png(render_poster(blank_names)).convert("RGB")

    for row in range(3):
        assert ImageChops.difference(name_area(drawn, row), name_area(without, row)).getbbox() is not None
    path, index = poster.find_font()
    font = ImageFont.truetype(str(path), 40, index=index)
    assert bytes(font.getmask("李")) != bytes(font.getmask("\ue000"))  # a real glyph, not the box


def test_the_poster_words_come_from_the_template_with_names_masked_again():
    text = Renderer().render("leaderboard_poster", {**BOARD, "rows": [{"rank": 1, "seller": "李娜", "value": 5}]})

    words = poster.poster_from_text(text)

    assert (words.platform, words.title, words.subtitle) == ("童趣优课", "星火思维·销售额排行榜", "本周 · 11月23日起")
    assert words.rows == (PosterRow(1, "李**", "5.00 元"),)


def test_the_font_comes_from_the_installed_package(fresh_font_lookup, monkeypatch):
    monkeypatch.delenv(poster.FONT_ENV, raising=False)

    path, _index = poster.find_font()

    assert path.name == "NotoSansSC-Regular.otf" and "pylopdf_fonts_zh_cn" in str(path)


def test_without_a_usable_font_the_error_says_what_to_install(fresh_font_lookup, monkeypatch, tmp_path):
    monkeypatch.setenv(poster.FONT_ENV, str(tmp_path / "nothing.otf"))

    with pytest.raises(PosterFontMissing, match="apt-get install fonts-noto-cjk") as missing:
        render_poster(SAMPLE)

    assert "nothing.otf (missing)" in str(missing.value)


# --- The leaderboard command in a brand group. ---


async def sell(client, *sales: tuple[str, int]) -> None:
    for i, (ref, quantity) in enumerate(sales):
        amount = f"{399 * quantity}.00"
        await post_event(client, order_event(f"o-{i}", ref=ref, quantity=quantity, amount=amount, buyer=f"b-{i}"))


async def test_anyone_in_a_brand_group_gets_the_leaderboard_as_text_and_as_a_poster_image(client, services):
    await sell(client, ("DEMOC001", 2), ("DEMOC002", 1), ("DEMOC001", 1))

    await run(services, say("wx-zhangwei", "排行榜本周"))

    text, image = await rows(services, XH1)
    assert text.text == (
        "🏆 星火思维 本周销售额榜（11月23日起）\n🥇 李**  1,197.00 元\n🥈 张**  399.00 元\n"
        "截至 11月25日 10:00 · 发送“排行榜 本周/本月/接龙/全部”看其他榜单"
    )
    assert (image.kind, image.target_is_room, image.payload["name"]) == ("image", True, "leaderboard.png")
    assert png(base64.b64decode(image.payload["image_b64"])).size == poster_size(2)
    assert await rows(services, XH2) == []


async def test_the_same_board_asked_again_within_a_minute_gets_a_short_answer_not_another_poster(client, services):
    await sell(client, ("DEMOC001", 1))

    await run(services, say("wx-lina", "排行榜 全部 单数"), say("wx-zhangwei", "排行榜 全部 单数", n=1))
    services.clock.advance(seconds=61)
    await run(services, say("wx-lina", "排行榜 全部 单数", n=2))

    answers = [(r.kind, r.text.splitlines()[0]) for r in await rows(services, XH1)]
    assert answers == [
        ("text", "🏆 星火思维 累计出单数榜（全部订单）"),
        ("image", "排行榜海报 xinghuo all orders"),
        ("text", "这个榜单 60 秒内刚发过，往上翻翻就能看到～ 过一会儿再发，就能看到最新排名。"),
        ("text", "🏆 星火思维 累计出单数榜（全部订单）"),
        ("image", "排行榜海报 xinghuo all orders"),
    ]


async def test_a_manager_posts_the_leaderboard_in_every_group_and_others_are_refused(client, services):
    await sell(client, ("DEMOC001", 1))

    await run(services, say(MANAGER, "发布排行榜 今日 新客"), say("wx-lina", "发布排行榜", n=1))

    for room in (XH1, XH2):
        text, image = (await rows(services, room))[:2]
        assert text.text.startswith("🏆 星火思维 今日新客数榜（11月25日）\n🥇 李**  1 位新客")
        assert image.kind == "image"
    assert (await rows(services, XH1))[-1].text.startswith("“发布排行榜”是星火思维课程经理的指令")
    assert await rows(services, HB) == []


async def test_during_a_push_the_plain_leaderboard_shows_the_push_and_unknown_words_get_the_usage(client, services):
    await sell(client, ("DEMOC002", 1))  # before the push: not on its board
    services.clock.advance(minutes=1)
    await run(services, say(MANAGER, "开始接龙 周末冲刺", at=START + timedelta(minutes=1)))
    await post_event(client, order_event("o-9", ref="DEMOC001", buyer="b-9", at=START + timedelta(minutes=2)))
    services.clock.advance(minutes=2)

    await run(services, say("wx-lina", "排行榜", n=1), say("wx-lina", "排行榜 明年", n=2))

    board, _image, usage = [r.text for r in await rows(services, XH1) if r.template != "relay_started"][-3:]
    assert board.startswith("🏆 星火思维 接龙「周末冲刺」销售额榜（进行中）\n🥇 李**  399.00 元\n截至")
    assert usage.startswith("排行榜可以这样发：排行榜 [今日|本周|本月|接龙|全部] [金额|单数|新客]")

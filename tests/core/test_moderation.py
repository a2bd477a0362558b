"""Moderation rules (core.moderation) and the QR-code finder (core.qr): what is an offence for
a stranger and for a seller, that a flood is one offence, when a strike removes; and that real
QR codes are found, in a corner of a bigger picture too, while noise, checkerboards and blank
pictures are not."""

from __future__ import annotations

import random
from datetime import timedelta

import qrcode
from PIL import Image, ImageDraw

from core.moderation import Limits, Policy, Rule, Seen, Step, judge, next_step, squeeze
from core.qr import has_qr_code

WORDS = ("加微信", "加v")
EVERYONE = Limits(words=WORDS, links=True, qr_codes=True, cards=True, max_mentions=5, flood_messages=8)
SELLERS = Limits(words=WORDS, links=False, qr_codes=True, cards=True, max_mentions=10, flood_messages=15)
POLICY = Policy(EVERYONE, SELLERS, strikes_to_remove=3, seller_extra_strikes=1, window=timedelta(hours=24))


def rule(limits: Limits, **seen) -> Rule | None:
    found = judge(limits, Seen(**({"text": ""} | seen)))
    return found.rule if found else None


def test_words_are_found_through_spaces_punctuation_width_and_case():
    assert squeeze("加 微.信！") == "加微信"
    assert rule(EVERYONE, text="想要资料的 加 微 信 哦") is Rule.WORD
    assert rule(EVERYONE, text="扫码加V看课") is Rule.WORD
    assert rule(EVERYONE, text="今天的课很有意思") is None


def test_links_are_an_offence_for_strangers_and_allowed_to_sellers():
    for text in ("看这里 https://ad.example/x", "www.shop.cn 秒杀", "戳 t.cn/A6xYz", "官网 abc-learn.com"):
        assert rule(EVERYONE, text=text) is Rule.LINK, text
        assert rule(SELLERS, text=text) is None, text
    assert rule(EVERYONE, text="3.5 元一节课，第1.2单元") is None  # numbers are not addresses


def test_pictures_with_qr_codes_cards_and_mass_mentions():
    assert rule(EVERYONE, text="[图片]", kind="image", has_qr=True) is Rule.QR_CODE
    assert rule(EVERYONE, text="[图片]", kind="image", has_qr=False) is None
    assert rule(EVERYONE, text="王老师", kind="card") is Rule.CARD
    assert rule(EVERYONE, text="大家看", mentions=6) is Rule.MENTIONS
    assert rule(EVERYONE, text="大家看", mentions=5) is None
    assert rule(SELLERS, text="大家看", mentions=6) is None


def test_a_flood_is_one_offence_on_the_message_that_crosses_the_line():
    found = [rule(EVERYONE, text="冲冲冲", recent=n) for n in range(1, 13)]
    assert found.count(Rule.FLOOD) == 1 and found[8] is Rule.FLOOD  # the ninth message of the window
    assert rule(SELLERS, text="冲冲冲", recent=9) is None


def test_the_third_strike_removes_a_stranger_and_a_seller_gets_one_more():
    assert [next_step(POLICY, n, seller=False) for n in (1, 2, 3)] == [Step.WARN, Step.WARN, Step.REMOVE]
    assert [next_step(POLICY, n, seller=True) for n in (3, 4)] == [Step.WARN, Step.REMOVE]


def _gray(picture: Image.Image) -> tuple[bytes, int, int]:
    gray = picture.convert("L")
    return gray.tobytes(), gray.width, gray.height


def _qr(data: str, box: int = 4) -> Image.Image:
    maker = qrcode.QRCode(box_size=box, border=4)
    maker.add_data(data)
    return maker.make_image().get_image()


def test_real_qr_codes_are_found_at_several_sizes_and_inside_a_bigger_picture():
    for data, box in (("https://example.com/join", 4), ("加我进群 wx-ad-123456789", 6), ("x", 3)):
        assert has_qr_code(*_gray(_qr(data, box))), (data, box)
    poster = Image.new("RGB", (400, 300), "#f4e6d0")
    draw = ImageDraw.Draw(poster)
    draw.rectangle((20, 20, 200, 120), fill="#c0392b")
    draw.text((30, 200), "秋季课限时优惠", fill="black")
    poster.paste(_qr("https://ad.example/group", 3), (260, 150))
    assert has_qr_code(*_gray(poster))


def test_noise_checkerboards_stripes_and_blank_pictures_are_not_qr_codes():
    rng = random.Random(7)
    noise = Image.new("L", (240, 240))
    noise.putdata([rng.choice((0, 255)) for _ in range(240 * 240)])
    checker = Image.new("L", (200, 200), 255)
    stripes = Image.new("L", (200, 200), 255)
    draw_c, draw_s = ImageDraw.Draw(checker), ImageDraw.Draw(stripes)
    for i in range(0, 200, 10):
        draw_s.rectangle((i, 0, i + 4, 199), fill=0)
        for j in range(0, 200, 10):
            if (i + j) // 10 % 2:
                draw_c.rectangle((i, j, i + 9, j + 9), fill=0)
    for picture in (noise, checker, stripes, Image.new("L", (100, 100), 255), Image.new("L", (10, 10), 0)):
        assert not has_qr_code(*_gray(picture))

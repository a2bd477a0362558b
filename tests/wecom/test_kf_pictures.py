"""Pictures customers send to 微信客服 are read: fetched with media/get as they arrive and handed
to the bot as the picture a person sent (``image_bytes``), so the QR-code check reads a poster.
A picture that cannot be fetched still arrives as a picture, without bytes; a later read tries
WeCom once more; one over the size cap is never downloaded whole."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import qrcode
from PIL import Image

from bot.base.context import FixedClock
from bot.base.transport import Message, UnknownTarget
from services.moderation import picture_has_qr
from tests.wecom.transport_support import Wired, wired

BAD_MEDIA = 40007


def poster_with_qr() -> bytes:
    maker = qrcode.QRCode(box_size=4, border=4)
    maker.add_data("https://ad.example/group")
    poster = Image.new("RGB", (480, 640), "white")
    poster.paste(maker.make_image().get_image().convert("RGB"), (120, 300))
    out = io.BytesIO()
    poster.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
async def w(clock: FixedClock, tmp_path: Path) -> AsyncIterator[Wired]:
    async with wired(clock, tmp_path) as running:
        yield running


def media_gets(w: Wired) -> int:
    return sum(1 for call in w.fake.calls if call.path == "media/get")


async def test_a_poster_sent_to_wecom_kf_arrives_as_a_picture_whose_qr_code_the_bot_finds(w: Wired) -> None:
    customer = w.fake.contacts.add_customer("王妈妈")
    poster = poster_with_qr()

    await w.fake.kf.customer_sends_image(w.open_kfid, customer, poster)

    message = await w.sink.first(Message)
    assert (message.sender, message.kind, message.private) == (customer, "image", True)
    assert w.transport.capabilities.image_bytes
    data = await w.transport.image_bytes(message.id)
    assert data == poster
    assert picture_has_qr(data)
    assert media_gets(w) == 1  # fetched once, as it arrived


async def test_a_picture_whose_download_fails_still_arrives_and_is_fetched_again_when_read(w: Wired) -> None:
    customer = w.fake.contacts.add_customer("王妈妈")
    w.fake.fail_next("media/get", BAD_MEDIA)

    await w.fake.kf.customer_sends_image(w.open_kfid, customer, poster_with_qr())

    message = await w.sink.first(Message)
    assert message.kind == "image"
    assert w.transport.status().detail["pictures_missed"] == 1
    assert picture_has_qr(await w.transport.image_bytes(message.id))
    assert media_gets(w) == 2


async def test_a_picture_that_cannot_be_had_any_more_is_said_so_and_the_message_is_not_lost(w: Wired) -> None:
    customer = w.fake.contacts.add_customer("王妈妈")
    w.fake.fail_next("media/get", BAD_MEDIA)
    await w.fake.kf.customer_sends_image(w.open_kfid, customer, poster_with_qr())
    message = await w.sink.first(Message)
    w.clock.advance(days=3, seconds=1)  # WeCom keeps a temporary media 3 days

    with pytest.raises(UnknownTarget):
        await w.transport.image_bytes(message.id)
    with pytest.raises(UnknownTarget):
        await w.transport.image_bytes(message.id)  # not tried a third time
    assert media_gets(w) == 2


async def test_a_picture_over_the_size_cap_is_not_downloaded_and_arrives_without_bytes(w: Wired) -> None:
    customer = w.fake.contacts.add_customer("王妈妈")
    w.transport.pictures.max_bytes = 1024
    big = poster_with_qr()
    assert len(big) > 1024

    await w.fake.kf.customer_sends_image(w.open_kfid, customer, big)

    message = await w.sink.first(Message)
    assert message.kind == "image"
    with pytest.raises(UnknownTarget):
        await w.transport.image_bytes(message.id)
    assert media_gets(w) == 1


async def test_a_person_who_never_sent_a_picture_has_none_to_read(w: Wired) -> None:
    with pytest.raises(UnknownTarget):
        await w.transport.image_bytes("kfmsg-unknown")

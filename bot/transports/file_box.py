"""The bytes of a picture a puppet service hands out as a serialised FileBox (wechaty's file
container): ``{"boxType": 1, "base64": …}`` inline, or ``{"boxType": 2, "remoteUrl": …}`` behind a
URL. Read here rather than by ``wechaty_puppet.FileBox.from_json``, which fetches a URL box with
blocking ``requests`` inside the event loop."""

from __future__ import annotations

import base64
import json
from typing import Any

import aiohttp

from bot.base.transport import Refused, TransportError, UnknownTarget

IMAGE_MAX_BYTES = 10 * 1024 * 1024  # a received picture larger than this is refused, not relayed


async def file_box_bytes(serialised: str, message_id: str) -> bytes:
    """The bytes of a FileBox the service sent as JSON: ``{"boxType": 1, "base64": …}`` or
    ``{"boxType": 2, "remoteUrl": …, "headers": …}``; other kinds (QR codes, a newer service's
    UUID boxes) hold no picture this client can read."""
    try:
        box = json.loads(serialised or "{}")
        kind = box.get("boxType")
    except (ValueError, AttributeError):
        raise Refused(f"image {message_id}: the service's answer is not a file box") from None
    if kind == 1:
        try:
            data = base64.b64decode(box.get("base64") or "", validate=True)
        except (ValueError, TypeError):
            raise Refused(f"image {message_id}: the file box's base64 is broken") from None
    elif kind == 2 and box.get("remoteUrl"):
        data = await _fetch(str(box["remoteUrl"]), box.get("headers") or {}, message_id)
    else:
        raise Refused(f"image {message_id}: a file box of type {kind!r} holds no picture this client reads")
    if not data:
        raise UnknownTarget(f"image {message_id}: the service has no picture for it")
    if len(data) > IMAGE_MAX_BYTES:
        raise Refused(f"image {message_id}: {len(data)} bytes, over {IMAGE_MAX_BYTES}")
    return data


async def _fetch(url: str, headers: dict[str, Any], message_id: str) -> bytes:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={str(k): str(v) for k, v in headers.items()}) as answer,
    ):
        if answer.status == 404:
            raise UnknownTarget(f"image {message_id}: {url} answers 404")
        if answer.status >= 400:
            raise TransportError(f"image {message_id}: {url} answers {answer.status}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in answer.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > IMAGE_MAX_BYTES:  # stop reading: nobody relays a picture this large
                raise Refused(f"image {message_id}: over {IMAGE_MAX_BYTES} bytes at {url}")
            chunks.append(chunk)
    return b"".join(chunks)

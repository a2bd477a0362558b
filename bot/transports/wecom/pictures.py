"""Pictures customers sent to 微信客服, fetched once and kept for a while in memory, so the bot
can read them (a QR code in a poster, a screenshot) by the message's id.

WeCom gives an image message as a ``media_id`` valid 3 days. :meth:`Pictures.take` fetches it
as the message arrives (``media/get``); a failure is logged and remembered with the media id,
so :meth:`Pictures.get` can try once more later (once: then it is given up). A picture over ``max_bytes`` is not read
(WeCom's own cap on images is 10 MB) and never fetched again. What is kept is bounded by count
and total size; the oldest go first.

Example: ``await pictures.take("kfmsg-1", "media-7")`` → True, and
``await pictures.get("kfmsg-1")`` gives the bytes; had the download failed, ``take`` says False,
and ``get`` tries media/get again (:class:`PictureMissing` if it fails again).
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from bot.transports.wecom.errors import TooLarge, WeComError
from bot.transports.wecom.media import MAX_MEDIA_BYTES, MediaApi

log = logging.getLogger(__name__)


class PictureMissing(WeComError):
    """The picture of a message is not to be had (never seen, too large, expired, failed)."""


class Pictures:
    def __init__(self, client: MediaApi, *, max_bytes: int = MAX_MEDIA_BYTES, keep_bytes: int = 64 * 1024 * 1024,
                 keep_count: int = 500):
        self.client = client
        self.max_bytes, self.keep_bytes, self.keep_count = max_bytes, keep_bytes, keep_count
        self._kept: OrderedDict[str, bytes] = OrderedDict()
        self._pending: OrderedDict[str, str] = OrderedDict()  # message id → media id not yet fetched
        self.failures = 0

    async def take(self, message_id: str, media_id: str) -> bool:
        """Fetch the picture of a message as it arrives; False (logged) when it could not be."""
        return await self._fetch(message_id, media_id, again_later=True)

    async def _fetch(self, message_id: str, media_id: str, *, again_later: bool) -> bool:
        try:
            data = (await self.client.get_media(media_id, max_bytes=self.max_bytes)).data
        except TooLarge as exc:
            self.failures += 1  # not remembered: never fetched again
            log.warning("wecom: the picture of %s is not read: %s", message_id, exc)
            return False
        except WeComError as exc:  # a limit, WeCom busy, an expired id, no answer
            self.failures += 1
            if again_later:
                self._remember(self._pending, message_id, media_id)
            log.warning("wecom: the picture of %s could not be fetched: %s", message_id, exc)
            return False
        self._keep(message_id, data)
        return True

    async def get(self, message_id: str) -> bytes:
        """The picture of ``message_id``; :class:`PictureMissing` when there is none to be had."""
        if message_id in self._kept:
            return self._kept[message_id]
        media_id = self._pending.pop(message_id, None)
        if media_id is None:
            raise PictureMissing(f"no picture kept for {message_id}")
        if not await self._fetch(message_id, media_id, again_later=False):
            raise PictureMissing(f"the picture of {message_id} could not be fetched from WeCom")
        return self._kept[message_id]

    def _keep(self, message_id: str, data: bytes) -> None:
        self._kept[message_id] = data
        while len(self._kept) > self.keep_count or sum(map(len, self._kept.values())) > self.keep_bytes:
            self._kept.popitem(last=False)

    def _remember(self, pending: OrderedDict[str, str], message_id: str, media_id: str) -> None:
        pending[message_id] = media_id
        while len(pending) > self.keep_count:
            pending.popitem(last=False)

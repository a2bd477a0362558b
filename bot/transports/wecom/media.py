"""Temporary media (WECOM.md §5): what a customer sent to 微信客服 (an image's ``media_id`` in
``sync_msg``) is fetched with ``media/get``. The id is valid 3 days; the answer is the file
itself, or JSON with an ``errcode`` (40007: the id is unknown or has expired)."""

from __future__ import annotations

from bot.transports.wecom.caller import ApiCaller, FileAnswer
from bot.transports.wecom.errors import InvalidRequest

MAX_MEDIA_BYTES = 10 * 1024 * 1024  # WeCom's own limit for an image


class MediaApi(ApiCaller):
    async def get_media(self, media_id: str, *, max_bytes: int = MAX_MEDIA_BYTES) -> FileAnswer:
        """The file behind ``media_id``; :class:`TooLarge` past ``max_bytes`` (not read further)."""
        if not media_id:
            raise InvalidRequest("a media id is needed")
        return await self.download("media/get", params={"media_id": media_id}, max_bytes=max_bytes)

"""The bytes of the images said in the simulated world, so the ``/sim`` page shows what the
group sees (the leaderboard poster, a lecturer's slide) and the bot can fetch an image it
received (``SimTransport.image_bytes``).

They live in a folder beside the journal (``sim-world.jsonl`` → ``sim-world.images/``), one
file per message id, and never in the journal itself: the journal is replayed at every start
and grows forever, images would make it heavy for no use. The folder is bounded — one image
at most ``per_image`` bytes, all of them at most ``total`` — and the oldest are dropped first,
as a phone clears its cache: the message stays, its picture shows as expired.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from pathlib import Path

log = logging.getLogger(__name__)

PER_IMAGE = 2 * 1024 * 1024
TOTAL = 64 * 1024 * 1024
# The types a WeChat chat shows inline, by their first bytes; anything else is not an image.
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_NAME = re.compile(r"[a-z]+-(\d+)")


class ImageRefused(ValueError):
    """Bytes the world will not keep: not an image, or too large."""


def image_type(data: bytes) -> str | None:
    """The MIME type of PNG, JPEG, GIF or WebP bytes; None for anything else."""
    for signature, mime in SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def folder_for(journal: Path) -> Path:
    return journal.with_name(f"{journal.stem}.images")


def _order(path: Path) -> tuple[int, str]:
    found = _NAME.fullmatch(path.name)
    return (int(found[1]) if found else -1, path.name)


class ImageStore:
    def __init__(self, folder: Path, *, per_image: int = PER_IMAGE, total: int = TOTAL):
        self.folder = folder
        self.per_image = per_image
        self.total = total
        self._sizes: OrderedDict[str, int] = OrderedDict()  # message id → size, oldest first
        if folder.is_dir():
            for path in sorted(folder.iterdir(), key=_order):
                if _NAME.fullmatch(path.name):
                    self._sizes[path.name] = path.stat().st_size
                elif path.name.endswith(".partial"):
                    path.unlink(missing_ok=True)  # a write the process did not finish
        self._trim()

    @property
    def used(self) -> int:
        return sum(self._sizes.values())

    def check(self, data: bytes) -> str:
        """The image's MIME type; :class:`ImageRefused` when the world would not keep it."""
        mime = image_type(data)
        if mime is None:
            raise ImageRefused("只能发送 PNG、JPEG、GIF 或 WebP 图片")
        if len(data) > self.per_image:
            raise ImageRefused(f"图片太大：{len(data) / 1048576:.1f} MB，最多 {self.per_image / 1048576:.1f} MB")
        return mime

    def put(self, message_id: str, data: bytes) -> None:
        """Keep the bytes of ``message_id`` (checked first), dropping the oldest over the total."""
        self.check(data)
        if not _NAME.fullmatch(message_id):
            raise ImageRefused(f"not a message id: {message_id!r}")
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{message_id}.partial"
        partial.write_bytes(data)
        partial.replace(self.folder / message_id)  # whole or absent, even if the process dies here
        self._sizes.pop(message_id, None)
        self._sizes[message_id] = len(data)
        self._trim()

    def get(self, message_id: str) -> bytes | None:
        """The bytes, or None when they were never kept or have been dropped."""
        if message_id not in self._sizes:
            return None
        try:
            return (self.folder / message_id).read_bytes()
        except OSError:
            self._sizes.pop(message_id, None)
            return None

    def keep_only(self, message_ids: set[str]) -> None:
        """Forget images of messages the world does not have (a journal removed to start a
        fresh world leaves its images behind; their ids will be used again)."""
        for stale in [m for m in self._sizes if m not in message_ids]:
            del self._sizes[stale]
            (self.folder / stale).unlink(missing_ok=True)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._sizes

    def _trim(self) -> None:
        used = self.used
        while used > self.total and self._sizes:
            oldest, size = self._sizes.popitem(last=False)
            used -= size
            (self.folder / oldest).unlink(missing_ok=True)
            log.info("sim: image of %s dropped (the images folder keeps at most %d bytes)", oldest, self.total)

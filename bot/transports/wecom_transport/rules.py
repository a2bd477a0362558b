"""What WeCom lets a company's bot do (WECOM.md §8, §9), and WeCom's failures as the transport
interface's errors: customer groups take nobody by an add and every post waits for a member's
confirmation, within a cap; DMs only through 微信客服, within its window."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.base.transport import (
    Capabilities,
    PostCap,
    PostState,
    PrivateWindow,
    Refused,
    TransportError,
    Uncertain,
    UnknownTarget,
)
from bot.transports.wecom import ApiError, InvalidRequest, PermanentError, RequestFailed, UnknownOutcome
from bot.transports.wecom.results import SendStatus

WECOM = Capabilities(
    send_images=True,
    image_bytes=True,  # pictures customers send to 微信客服, fetched with media/get
    join_codes=True,
    contact_codes=True,
    group_posts_need_confirmation=True,
    group_post_cap=PostCap("month"),
    private_window=PrivateWindow(hours=48, messages=5),
    group_text_bytes=4000,  # add_msg_template text.content: 最多4000个字节 (document 92135)
    private_text_bytes=2048,  # kf/send_msg text: at most 2048 bytes (WECOM.md §6)
    rooms_per_post=2000,  # add_msg_template chat_id_list: 最多2000个 (document 92135, WECOM.md §5)
)
# Codes saying the person or group is not (or no longer) there, rather than a request refused.
UNKNOWN_TARGET_CODES = frozenset({40096, 84061})
POST_STATES: dict[int, PostState] = {
    SendStatus.NOT_SENT: PostState.PROPOSED,
    SendStatus.SENT: PostState.SENT,
    SendStatus.NOT_FRIEND: PostState.FAILED,
    SendStatus.CAP_REACHED: PostState.CAPPED,
}
_KF_MSGID = re.compile(r"[0-9A-Za-z_-]{1,32}")


@asynccontextmanager
async def calling(what: str) -> AsyncIterator[None]:
    """WeCom's failures as the interface's errors: permanent codes refuse with the code and its
    meaning, a lost answer of a call that sends is :class:`Uncertain`, limits and busy answers
    are a :class:`TransportError` the outbox backs off from."""
    try:
        yield
    except UnknownOutcome as exc:
        raise Uncertain(str(exc)) from exc
    except PermanentError as exc:
        text = f"{what}: errcode {exc.code}, {exc.meaning}"
        raise (UnknownTarget(text) if exc.code in UNKNOWN_TARGET_CODES else Refused(text)) from exc
    except InvalidRequest as exc:
        raise Refused(f"{what}: {exc}") from exc
    except (ApiError, RequestFailed) as exc:  # busy, limits, credentials: the outbox backs off
        raise TransportError(str(exc)) from exc


def kf_msgid(ref: str | None) -> str:
    """The outbox row as the kf message's own id, so WeCom can tell a resend (when it fits)."""
    candidate = f"ob-{ref}" if ref else ""
    return candidate if _KF_MSGID.fullmatch(candidate) else ""

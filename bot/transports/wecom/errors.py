"""What can go wrong talking to WeCom, as types the transport can act on.

Two families:

- **Callbacks** (:class:`CallbackRejected` and its kinds): a request to our callback URL that
  must not be believed — bad signature, stale timestamp, a body for another corp, broken
  ciphertext, oversized or malformed XML. The endpoint answers it with a refusal and logs it.
- **API calls** (:class:`ApiError` and friends): WeCom answered with an ``errcode``, or did not
  answer at all. Every code of the facts sheet is in :data:`ERROR_CODES` with its meaning and
  what to do about it (:class:`ErrorClass`); a code not in the table is treated as permanent,
  since repeating a request WeCom refused for an unknown reason only burns quota.

The distinction that matters most to the outbox: :class:`UnknownOutcome` (a call that sends
timed out after the request left — it may have reached the person, so it must not be sent again
by itself) versus :class:`RequestFailed` (nothing happened, or it was only a read: try again).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class WeComError(Exception):
    """Anything this package raises about WeCom."""


# --- callbacks -------------------------------------------------------------------------------


class CallbackRejected(WeComError):
    """A callback request that is refused. ``reason`` is short and safe to log; it is never
    sent back to the caller (a forger learns nothing from the answer)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class BadSignature(CallbackRejected):
    """``msg_signature`` does not match SHA1(sorted token, timestamp, nonce, encrypt)."""


class StaleTimestamp(CallbackRejected):
    """The request's timestamp is too far from our clock: a replay, or a clock badly off."""


class WrongReceiver(CallbackRejected):
    """The decrypted message names another receiver (corp id) than ours."""


class BadCiphertext(CallbackRejected):
    """Not valid base64, not whole AES blocks, bad PKCS#7 padding or a length field that
    overruns the message: nothing WeCom would have produced with our key."""


class BodyTooLarge(CallbackRejected):
    """The body is larger than any callback WeCom sends; it is not read further."""


class MalformedCallback(CallbackRejected):
    """Missing query parameters, XML that does not parse (or declares a DTD/entities), or a
    message without the fields its kind requires."""


# --- API calls -------------------------------------------------------------------------------


class ErrorClass(StrEnum):
    """What the client (or its caller) does about an ``errcode``."""

    RETRY = "retry"  # WeCom is busy: try again shortly (the client does, a few times)
    REFRESH = "refresh"  # the access token is stale or missing: fetch a new one once, try again
    BACK_OFF = "back_off"  # a frequency or concurrency limit: stop calling that API for a while
    PERMANENT = "permanent"  # the request itself is refused: the same request gets the same answer


@dataclass(frozen=True)
class ErrorCode:
    code: int
    meaning: str
    kind: ErrorClass


def _codes(*rows: tuple[int, str, ErrorClass]) -> dict[int, ErrorCode]:
    return {code: ErrorCode(code, meaning, kind) for code, meaning, kind in rows}


# Every code of WECOM.md §1, plus the two the fake server and the media rules need (40007,
# 40058). Meanings are WeCom's own where the sources give them.
ERROR_CODES: dict[int, ErrorCode] = _codes(
    (-1, "系统繁忙 (WeCom busy; retry, at most 3 times)", ErrorClass.RETRY),
    (40001, "不合法的secret参数 (bad corp secret; on an API call: the token is stale)", ErrorClass.REFRESH),
    (40014, "不合法的access_token (invalid or revoked access token)", ErrorClass.REFRESH),
    (42001, "access_token已过期 (access token expired)", ErrorClass.REFRESH),
    (41001, "缺少access_token参数 (access token missing)", ErrorClass.REFRESH),
    (45009, "接口调用超过限制 (frequency limit reached: blocked for a while)", ErrorClass.BACK_OFF),
    (45033, "接口并发调用超过限制 (too many concurrent calls)", ErrorClass.BACK_OFF),
    (60011, "no permission for this member/department/tag: wrong secret, or outside the app's visibility",
     ErrorClass.PERMANENT),
    (81013, "all users, departments and tags invalid or outside the app's scope", ErrorClass.PERMANENT),
    (81017, "groupchat/list needs owner_filter: more than 1000 members are visible", ErrorClass.PERMANENT),
    (84061, "not an external contact: no relation, or the relation is newer than the data", ErrorClass.PERMANENT),
    (40096, "invalid external_userid", ErrorClass.PERMANENT),
    (41051, "welcome message already sent, or the chat has started (welcome_code spent)", ErrorClass.PERMANENT),
    (95000, "invalid open_kfid (customer-service account)", ErrorClass.PERMANENT),
    (95017, "the customer-service (微信客服) API is not enabled for this app", ErrorClass.PERMANENT),
    (40007, "不合法的media_id (unknown or expired media id: media ids last 3 days)", ErrorClass.PERMANENT),
    (40058, "不合法的参数 (a parameter is invalid)", ErrorClass.PERMANENT),
)


def describe(code: int) -> ErrorCode:
    """The table's row for ``code``; an unknown code is permanent (see the module's doc)."""
    return ERROR_CODES.get(code) or ErrorCode(code, "unknown WeCom error code", ErrorClass.PERMANENT)


class InvalidRequest(WeComError, ValueError):
    """Refused before calling WeCom: the request breaks a documented limit (a state over 30
    characters, more than 5 chats in a join way, a kf text over 2048 bytes…)."""


class ApiError(WeComError):
    """WeCom answered with a non-zero ``errcode``. ``errmsg`` is kept for logs only: WeCom
    changes its wording, so nothing branches on it."""

    def __init__(self, path: str, code: int, errmsg: str = ""):
        self.path = path
        self.code = code
        self.errmsg = errmsg
        self.info = describe(code)
        super().__init__(f"{path}: errcode {code}: {self.info.meaning}" + (f" ({errmsg})" if errmsg else ""))

    @property
    def meaning(self) -> str:
        return self.info.meaning

    @property
    def kind(self) -> ErrorClass:
        return self.info.kind


class PermanentError(ApiError):
    """The request is refused for good: dead-letter it with :attr:`code` and :attr:`meaning`."""


class AuthFailed(ApiError):
    """The credentials do not work: gettoken refused the corp id or secret, or WeCom refused a
    token it had just issued. Nothing will work until an admin fixes the configuration."""


class Busy(ApiError):
    """WeCom stayed busy (-1) through the client's retries: try again later."""


class RateLimited(ApiError):
    """A frequency or concurrency limit: no call to :attr:`path` before :attr:`retry_after`
    seconds have passed (the client refuses them itself meanwhile, without a request)."""

    def __init__(self, path: str, code: int, errmsg: str = "", *, retry_after: float):
        super().__init__(path, code, errmsg)
        self.retry_after = retry_after


class RequestFailed(WeComError):
    """No usable answer, and nothing can have happened: the connection never opened, or the call
    only reads. Safe to try again."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class TooLarge(RequestFailed):
    """A file larger than the caller takes: not read further (trying again will not help)."""


class UnknownOutcome(WeComError):
    """A call that sends (or changes something) lost its answer after the request left: WeCom
    may have done it. The outbox marks the message uncertain instead of sending it again."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: outcome unknown: {reason}")
        self.path = path
        self.reason = reason

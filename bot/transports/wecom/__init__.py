"""WeCom (企业微信) official server APIs: the pieces the ``wecom`` transport is built on.

Owns: callback crypto (:mod:`.crypto`), safe XML (:mod:`.xmlsafe`), typed callback events
(:mod:`.events`), the callback URL's aiohttp routes (:mod:`.callback`), the API client with its
token cache and error handling (:mod:`.client`, :mod:`.caller`, :mod:`.token`, :mod:`.errors`)
and typed results (:mod:`.results`).

May import: the standard library, aiohttp, cryptography and defusedxml — nothing of distbot, so
it stays a library the adapter uses and tests can exercise alone against the fake WeCom server
(``tests/wecom/fake_server.py``).
"""

from bot.transports.wecom.callback import CallbackEndpoint
from bot.transports.wecom.client import DEFAULT_BASE_URL, RetryPolicy, WeComClient
from bot.transports.wecom.crypto import CallbackCrypto, SealedCallback
from bot.transports.wecom.errors import (
    ERROR_CODES,
    ApiError,
    AuthFailed,
    BadCiphertext,
    BadSignature,
    BodyTooLarge,
    Busy,
    CallbackRejected,
    ErrorClass,
    InvalidRequest,
    MalformedCallback,
    PermanentError,
    RateLimited,
    RequestFailed,
    StaleTimestamp,
    UnknownOutcome,
    WeComError,
    WrongReceiver,
)
from bot.transports.wecom.events import (
    CallbackEvent,
    ExternalChatChanged,
    ExternalContactAdded,
    ExternalContactChanged,
    ExternalContactRemoved,
    KfMsgOrEvent,
    OtherCallback,
    parse_event,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "ERROR_CODES",
    "ApiError",
    "AuthFailed",
    "BadCiphertext",
    "BadSignature",
    "BodyTooLarge",
    "Busy",
    "CallbackCrypto",
    "CallbackEndpoint",
    "CallbackEvent",
    "CallbackRejected",
    "ErrorClass",
    "ExternalChatChanged",
    "ExternalContactAdded",
    "ExternalContactChanged",
    "ExternalContactRemoved",
    "InvalidRequest",
    "KfMsgOrEvent",
    "MalformedCallback",
    "OtherCallback",
    "PermanentError",
    "RateLimited",
    "RequestFailed",
    "RetryPolicy",
    "SealedCallback",
    "StaleTimestamp",
    "UnknownOutcome",
    "WeComClient",
    "WeComError",
    "WrongReceiver",
    "parse_event",
]

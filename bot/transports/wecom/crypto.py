"""WeCom's callback encryption: URL verification, ``msg_signature``, AES-256-CBC.

The scheme (WECOM.md §2):

- ``msg_signature`` = hex SHA1 of token, timestamp, nonce and the ciphertext, sorted as strings
  and concatenated. It is checked first, in constant time, before anything is decrypted — so a
  forged body never reaches the padding check (no padding oracle).
- key = base64decode(EncodingAESKey + "="), 32 bytes; IV = the key's first 16 bytes.
- plaintext = 16 random bytes ‖ 4-byte big-endian length ‖ message ‖ receive id (the corp id for
  a self-built app), PKCS#7-padded to a multiple of **32** (not AES's 16).

Worked example (the published vector in wechatpy's ``tests/test_crypto.py``): token ``123456``,
key ``kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR``, corp id ``wx49f0ab532d5d035a``, timestamp
``1411525903``, nonce ``461056294`` and the 16 random bytes ``1234567890123456`` encrypt a reply
into an ``Encrypt`` starting ``9s4gMv99m88kKTh/H8IdkOiMg6bi…`` signed
``407518b7649e86ef23978113f92d27afa9296533``.

AES comes from ``cryptography`` (maintained, constant-time primitives, wheels for every
platform); the padding and framing are WeCom's and are done here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.transports.wecom import xmlsafe
from bot.transports.wecom.clocks import Clock, SystemClock, unix
from bot.transports.wecom.errors import (
    BadCiphertext,
    BadSignature,
    BodyTooLarge,
    MalformedCallback,
    StaleTimestamp,
    WrongReceiver,
)

BLOCK = 32  # WeCom pads to 32 bytes, whatever AES's block size
RANDOM_PREFIX = 16
# The longest base64 ciphertext accepted: a callback never comes near it, and decrypting a
# forged megabyte is work we do not do for strangers (the signature is checked first anyway).
MAX_ENCRYPTED_CHARS = 48 * 1024


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """Hex SHA1 of the four values, sorted and concatenated."""
    return hashlib.sha1("".join(sorted((token, timestamp, nonce, encrypted))).encode()).hexdigest()


def decode_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of a 43-character EncodingAESKey; ValueError if it is not one."""
    if len(encoding_aes_key) != 43:
        raise ValueError(f"an EncodingAESKey has 43 characters, this one has {len(encoding_aes_key)}")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError("the EncodingAESKey is not base64 (letters, digits, + and /)") from exc
    if len(key) != 32:  # pragma: no cover - 43 base64 chars always give 32 bytes
        raise ValueError("the EncodingAESKey does not decode to 32 bytes")
    return key


@dataclass(frozen=True)
class SealedCallback:
    """What WeCom POSTs: the query parameters and the XML body."""

    query: dict[str, str]
    body: bytes


class CallbackCrypto:
    """Verifies, decrypts and encrypts callback messages of one app.

    ``max_skew``: how far a request's timestamp may be from our clock (None: not checked).
    WeCom retries a callback within seconds, so five minutes leaves room for clock drift while a
    captured request cannot be replayed the next day.
    """

    def __init__(
        self,
        token: str,
        encoding_aes_key: str,
        receive_id: str,
        *,
        clock: Clock | None = None,
        max_skew: timedelta | None = timedelta(minutes=5),
        max_body_bytes: int = xmlsafe.MAX_XML_BYTES,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ):
        if not token:
            raise ValueError("the callback Token is empty")
        if not receive_id:
            raise ValueError("the receive id (corp id) is empty")
        self.token = token
        self.receive_id = receive_id
        self._key = decode_key(encoding_aes_key)
        self._clock = clock or SystemClock()
        self.max_skew = max_skew
        self.max_body_bytes = max_body_bytes
        self._random_bytes = random_bytes

    # --- verifying what arrives -------------------------------------------------------------

    def verify_url(self, query: Mapping[str, str]) -> str:
        """The plaintext to answer WeCom's URL check (GET with ``msg_signature, timestamp,
        nonce, echostr``; aiohttp has already URL-decoded the query)."""
        msg_signature, timestamp, nonce = self._signed_params(query)
        echostr = query.get("echostr")
        if not echostr:
            raise MalformedCallback("no echostr in the URL check")
        self._check(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr).decode()

    def open(self, query: Mapping[str, str], body: bytes) -> bytes:
        """The decrypted message XML of a callback POST, after every check."""
        if len(body) > self.max_body_bytes:
            raise BodyTooLarge(f"a callback body of {len(body)} bytes (at most {self.max_body_bytes})")
        msg_signature, timestamp, nonce = self._signed_params(query)
        envelope = xmlsafe.fields(xmlsafe.parse(body, max_bytes=self.max_body_bytes))
        encrypted = envelope.get("Encrypt", "").strip()
        if not encrypted:
            raise MalformedCallback("no <Encrypt> in the callback body")
        self._check(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def _signed_params(self, query: Mapping[str, str]) -> tuple[str, str, str]:
        missing = [name for name in ("msg_signature", "timestamp", "nonce") if not query.get(name)]
        if missing:
            raise MalformedCallback("missing " + ", ".join(missing))
        return query["msg_signature"], query["timestamp"], query["nonce"]

    def _check(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        if len(encrypted) > MAX_ENCRYPTED_CHARS:
            raise BodyTooLarge(f"an Encrypt of {len(encrypted)} characters")
        expected = signature(self.token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected, msg_signature.lower()):
            raise BadSignature("msg_signature does not match")
        self._check_fresh(timestamp)

    def _check_fresh(self, timestamp: str) -> None:
        if not timestamp.isdigit():
            raise MalformedCallback("the timestamp is not a number")
        if self.max_skew is None:
            return
        skew = abs(unix(self._clock.now()) - int(timestamp))
        if skew > self.max_skew.total_seconds():
            raise StaleTimestamp(f"timestamp {timestamp} is {skew} s from now")

    # --- the cipher -------------------------------------------------------------------------

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside ``encrypted``; refuses anything not framed for our receive id."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadCiphertext("not base64") from exc
        if not data or len(data) % 16:
            raise BadCiphertext(f"{len(data)} bytes is not a whole number of AES blocks")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        plain = _unpad(padded)
        if len(plain) < RANDOM_PREFIX + 4:
            raise BadCiphertext("too short for the random prefix and the length")
        (length,) = struct.unpack(">I", plain[RANDOM_PREFIX : RANDOM_PREFIX + 4])
        start = RANDOM_PREFIX + 4
        if start + length > len(plain):
            raise BadCiphertext(f"the length field ({length}) overruns the message")
        receive_id = plain[start + length :]
        if not hmac.compare_digest(receive_id, self.receive_id.encode()):
            raise WrongReceiver("the message is for another receive id")
        return plain[start : start + length]

    def encrypt(self, message: bytes | str) -> str:
        raw = message.encode() if isinstance(message, str) else message
        framed = self._random_bytes(RANDOM_PREFIX) + struct.pack(">I", len(raw)) + raw + self.receive_id.encode()
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).encryptor()
        return base64.b64encode(encryptor.update(_pad(framed)) + encryptor.finalize()).decode()

    # --- what we send -----------------------------------------------------------------------

    def reply(self, message: bytes | str, *, nonce: str | None = None, timestamp: str | None = None) -> str:
        """An encrypted passive reply: ``<xml>`` with ``Encrypt, MsgSignature, TimeStamp, Nonce``."""
        nonce = nonce or _nonce()
        timestamp = timestamp or str(unix(self._clock.now()))
        encrypted = self.encrypt(message)
        signed = signature(self.token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt>{xmlsafe.cdata(encrypted)}</Encrypt>"
            f"<MsgSignature>{xmlsafe.cdata(signed)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{xmlsafe.cdata(nonce)}</Nonce></xml>"
        )

    def seal(
        self, message: bytes | str, *, agent_id: str = "", nonce: str | None = None, timestamp: str | None = None
    ) -> SealedCallback:
        """A callback as WeCom POSTs it (``ToUserName, AgentID, Encrypt`` and the signed query):
        what the fake server pushes, and what a test posts by hand."""
        nonce = nonce or _nonce()
        timestamp = timestamp or str(unix(self._clock.now()))
        encrypted = self.encrypt(message)
        body = (
            f"<xml><ToUserName>{xmlsafe.cdata(self.receive_id)}</ToUserName>"
            f"<AgentID>{xmlsafe.cdata(agent_id)}</AgentID>"
            f"<Encrypt>{xmlsafe.cdata(encrypted)}</Encrypt></xml>"
        ).encode()
        query = {"msg_signature": signature(self.token, timestamp, nonce, encrypted), "timestamp": timestamp,
                 "nonce": nonce}
        return SealedCallback(query=query, body=body)

    def url_check(self, echo: str, *, nonce: str | None = None, timestamp: str | None = None) -> dict[str, str]:
        """The query of WeCom's URL check for the plaintext ``echo``."""
        nonce = nonce or _nonce()
        timestamp = timestamp or str(unix(self._clock.now()))
        echostr = self.encrypt(echo)
        return {"msg_signature": signature(self.token, timestamp, nonce, echostr), "timestamp": timestamp,
                "nonce": nonce, "echostr": echostr}


def _pad(data: bytes) -> bytes:
    count = BLOCK - len(data) % BLOCK  # a whole block of padding when already aligned
    return data + bytes([count]) * count


def _unpad(data: bytes) -> bytes:
    count = data[-1]
    if not 1 <= count <= BLOCK or count > len(data) or data[-count:] != bytes([count]) * count:
        raise BadCiphertext("bad padding")
    return data[:-count]


def _nonce() -> str:
    return str(secrets.randbelow(10**10))

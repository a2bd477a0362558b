"""Callback crypto: the published vectors, the refusals, and round trips (hypothesis)."""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.base.context import FixedClock
from bot.transports.wecom import (
    BadCiphertext,
    BadSignature,
    BodyTooLarge,
    CallbackCrypto,
    MalformedCallback,
    StaleTimestamp,
    WrongReceiver,
    xmlsafe,
)
from bot.transports.wecom.crypto import decode_key, signature

# Test data: the published WeCom vector of wechatpy's tests/test_crypto.py (github
# wechatpy/wechatpy), which in turn reproduces the values of WeCom's own sample code.
TOKEN = "123456"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CORP_ID = "wx49f0ab532d5d035a"
ECHO_QUERY = {
    "msg_signature": "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96",
    "timestamp": "1411443780",
    "nonce": "437374425",
    "echostr": "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==",
}
POSTED_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6y"
    "dJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/T"
    "ywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5"
    "t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)
POSTED_BODY = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>\n<Encrypt><![CDATA[{POSTED_ENCRYPT}]]></Encrypt>\n"
               "<AgentID><![CDATA[1]]></AgentID>\n</xml>").encode()
POSTED_QUERY = {"msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "timestamp": "1411525903",
                "nonce": "461056294"}
REPLY = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
REPLY_ENCRYPT = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesE"
    "l5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsD"
    "f03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTY"
    "jxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)
VECTOR_TIME = datetime(2014, 9, 24, 2, 31, 43, tzinfo=UTC)  # 1411525903


def vector_crypto(receive_id: str = CORP_ID, **options: object) -> CallbackCrypto:
    return CallbackCrypto(TOKEN, AES_KEY, receive_id, clock=FixedClock(VECTOR_TIME), **options)  # type: ignore[arg-type]


def test_wecoms_url_check_is_answered_with_the_decrypted_echo() -> None:
    assert vector_crypto(max_skew=None).verify_url(ECHO_QUERY) == "5927782489442352469"


def test_the_published_callback_decrypts_to_its_message() -> None:
    message = xmlsafe.fields(xmlsafe.parse(vector_crypto().open(POSTED_QUERY, POSTED_BODY)))
    assert (message["FromUserName"], message["Content"], message["MsgId"]) == ("messense", "test",
                                                                               "4363689963896700987")


def test_a_passive_reply_encrypts_and_signs_exactly_as_published() -> None:
    crypto = vector_crypto(random_bytes=lambda n: b"1234567890123456")
    reply = xmlsafe.fields(xmlsafe.parse(crypto.reply(REPLY, nonce="461056294", timestamp="1411525903")))
    assert reply["Encrypt"] == REPLY_ENCRYPT
    assert reply["MsgSignature"] == "407518b7649e86ef23978113f92d27afa9296533"
    assert (reply["TimeStamp"], reply["Nonce"]) == ("1411525903", "461056294")


def test_the_signature_sorts_before_hashing() -> None:
    assert signature("b", "c", "a", "d") == signature("d", "a", "b", "c")


def test_a_url_check_with_another_nonce_is_refused() -> None:
    with pytest.raises(BadSignature):
        vector_crypto(max_skew=None).verify_url({**ECHO_QUERY, "nonce": "437374424"})


def test_a_message_for_another_corp_is_refused_even_when_signed() -> None:
    with pytest.raises(WrongReceiver):
        vector_crypto(receive_id="wwsomeoneelse").open(POSTED_QUERY, POSTED_BODY)


def test_a_replayed_callback_is_refused_once_its_timestamp_is_stale() -> None:
    crypto = vector_crypto()
    crypto._clock = FixedClock(VECTOR_TIME + timedelta(minutes=4))
    assert crypto.open(POSTED_QUERY, POSTED_BODY)
    crypto._clock = FixedClock(VECTOR_TIME + timedelta(minutes=6))
    with pytest.raises(StaleTimestamp):
        crypto.open(POSTED_QUERY, POSTED_BODY)


def _signed(crypto: CallbackCrypto, encrypted: str) -> tuple[dict[str, str], bytes]:
    query = {"msg_signature": signature(TOKEN, "1411525903", "1", encrypted), "timestamp": "1411525903",
             "nonce": "1"}
    return query, f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()


def _raw_encrypt(plain: bytes) -> str:
    key = decode_key(AES_KEY)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


@pytest.mark.parametrize("last_byte", [0, 33, 64])
def test_a_signed_ciphertext_with_bad_padding_is_refused(last_byte: int) -> None:
    crypto = vector_crypto()
    plain = b"x" * 63 + bytes([last_byte])
    with pytest.raises(BadCiphertext, match="padding"):
        crypto.open(*_signed(crypto, _raw_encrypt(plain)))


def test_a_length_field_that_overruns_the_message_is_refused() -> None:
    crypto = vector_crypto()
    framed = b"r" * 16 + struct.pack(">I", 4000) + b"<xml/>" + CORP_ID.encode()
    padded = framed + bytes([32 - len(framed) % 32]) * (32 - len(framed) % 32)
    with pytest.raises(BadCiphertext, match="overruns"):
        crypto.open(*_signed(crypto, _raw_encrypt(padded)))


@pytest.mark.parametrize("encrypted", ["not base64 at all!", "QUJD", base64.b64encode(b"x" * 17).decode()])
def test_ciphertext_that_is_not_whole_aes_blocks_of_base64_is_refused(encrypted: str) -> None:
    crypto = vector_crypto()
    with pytest.raises(BadCiphertext):
        crypto.open(*_signed(crypto, encrypted))


def test_an_oversized_body_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(BodyTooLarge):
        vector_crypto(max_body_bytes=1024).open(POSTED_QUERY, b"<xml>" + b" " * 2000 + b"</xml>")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<xml><Encrypt>&c;</Encrypt></xml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]><xml><Encrypt>&secret;</Encrypt></xml>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, b"<xml><Encrypt>unclosed", b"<html></html>"])
def test_xml_with_a_dtd_entities_or_broken_structure_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedCallback):
        vector_crypto().open(POSTED_QUERY, body)


def test_a_callback_without_its_signed_parameters_is_refused() -> None:
    with pytest.raises(MalformedCallback, match="msg_signature"):
        vector_crypto().open({"timestamp": "1411525903", "nonce": "1"}, POSTED_BODY)


@pytest.mark.parametrize("key", ["short", AES_KEY + "A", AES_KEY[:-1] + "!"])
def test_an_encoding_aes_key_that_is_not_43_base64_characters_is_refused_at_start(key: str) -> None:
    with pytest.raises(ValueError, match="EncodingAESKey"):
        CallbackCrypto(TOKEN, key, CORP_ID)


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=600)


@settings(max_examples=80, deadline=None)
@given(message=st.binary(max_size=700))
def test_any_message_comes_back_from_encrypt_then_decrypt(message: bytes) -> None:
    crypto = vector_crypto()
    encrypted = crypto.encrypt(message)
    assert len(base64.b64decode(encrypted)) % 32 == 0  # padded to WeCom's 32, not AES's 16
    assert crypto.decrypt(encrypted) == message


@settings(max_examples=60, deadline=None)
@given(text=texts, nonce=st.text(alphabet="0123456789", min_size=1, max_size=12))
def test_a_sealed_callback_opens_to_the_same_message(text: str, nonce: str) -> None:
    crypto = vector_crypto()
    sealed = crypto.seal(text, agent_id="1000002", nonce=nonce)
    assert crypto.open(sealed.query, sealed.body).decode() == text


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0, max_value=10_000), data=st.data())
def test_any_changed_character_of_a_sealed_callback_is_caught_by_the_signature(position: int,
                                                                               data: st.DataObject) -> None:
    crypto = vector_crypto(random_bytes=lambda n: b"0" * n)  # the same ciphertext for every example
    sealed = crypto.seal("<xml><Event>add_external_contact</Event></xml>", nonce="7")
    encrypted = xmlsafe.fields(xmlsafe.parse(sealed.body))["Encrypt"]
    index = position % len(encrypted)
    replacement = data.draw(st.sampled_from([c for c in "ABCabc019+/" if c != encrypted[index]]))
    tampered = encrypted[:index] + replacement + encrypted[index + 1:]
    with pytest.raises(BadSignature):
        crypto.open(sealed.query, sealed.body.replace(encrypted.encode(), tampered.encode()))

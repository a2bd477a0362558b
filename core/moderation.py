"""Group moderation's rules: what counts as an offence in a brand group, and what follows.

An incoming group message is *seen* as its normalised text, its kind (text, image, a business
card), how many people it @-mentions, whether its picture holds a QR code, and how many
messages the sender has posted in the flood window (this one included). :func:`judge` names the
first rule it breaks, in this order:

- ``word``: a sensitive word of the platform's or the brand's list — compared without width,
  case, spaces or punctuation, so “加 微 信” and “加.微.信” are “加微信”;
- ``link``: a web address (``http://``, ``www.``, ``t.cn/…``, ``name.com`` and the like);
- ``qr_code``: a picture holding a QR code (another group, a private account);
- ``card``: a business card (a contact shared into the group);
- ``mentions``: more than ``max_mentions`` people @-mentioned at once;
- ``flood``: more than ``flood_messages`` messages within ``flood_seconds`` — counted once, on
  the message that crosses the line, so a flood is one offence, not one per message.

Ops, the brand's course managers and the helper itself are never judged (the caller leaves
them out). Distributors who have sold (an order attributed to them) get *more room*: the
sellers' limits (links allowed by default, more mentions, a longer flood) and extra strikes
before removal.

Each offence is a strike. :func:`next_step` decides what the strike leads to: a warning in the
group mentioning the person (once per offence), or — at ``strikes_to_remove`` strikes within
``window`` (plus the sellers' extra strikes) — removal from the group.

Worked example (3 strikes in 24 h, sellers +1, max 5 mentions, links forbidden to strangers):
a stranger posts “加V看课 http://x.cn” → ``word`` (加V is a listed word; it is checked first),
strike 1 → warning; an hour later a QR-code picture → ``qr_code``, strike 2 → warning; then
“www.ad.com” → ``link``, strike 3 → removal. A distributor who has sold may post a shop link
(no offence), and is removed only at the fourth strike.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cached_property


class Rule(StrEnum):
    WORD = "word"
    LINK = "link"
    QR_CODE = "qr_code"
    CARD = "card"
    MENTIONS = "mentions"
    FLOOD = "flood"


class Step(StrEnum):
    WARN = "warn"
    REMOVE = "remove"


@dataclass(frozen=True)
class Limits:
    """One set of limits (everyone's, or the sellers'): which rules apply and how far."""

    words: tuple[str, ...] = ()
    links: bool = True  # True: a link is an offence
    qr_codes: bool = True
    cards: bool = True
    max_mentions: int | None = 5  # None: no limit
    flood_messages: int | None = 8
    flood_seconds: int = 60

    @cached_property
    def squeezed_words(self) -> tuple[tuple[str, str], ...]:
        """(word as listed, word as compared), worked out once per set of limits."""
        return tuple((word, squeeze(word)) for word in self.words if squeeze(word))


@dataclass(frozen=True)
class Policy:
    everyone: Limits
    sellers: Limits
    strikes_to_remove: int = 3
    seller_extra_strikes: int = 1
    window: timedelta = timedelta(hours=24)

    def limits(self, seller: bool) -> Limits:
        return self.sellers if seller else self.everyone

    def strikes_allowed(self, seller: bool) -> int:
        """Strikes within the window that lead to removal."""
        return self.strikes_to_remove + (self.seller_extra_strikes if seller else 0)


@dataclass(frozen=True)
class Seen:
    text: str
    kind: str = "text"  # text | image | card
    mentions: int = 0
    has_qr: bool = False
    recent: int = 1  # the sender's messages in this room within the flood window, this one included


@dataclass(frozen=True)
class Offence:
    rule: Rule
    evidence: str  # what matched: the word, the link, "6 人", "9 条/60 秒"


_LINK = re.compile(
    r"(https?://\S+|www\.\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|cn|net|org|top|xyz|cc|me|io|vip|info|site|shop|link)\b\S*)",
    re.IGNORECASE,
)
_NOT_WORD = re.compile(r"[\s\W_]+", re.UNICODE)


def squeeze(text: str) -> str:
    """Text as words are compared: full width to half width, lower case, without spaces,
    punctuation or symbols. “加 微.信！” → “加微信”."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text or "").lower())


def judge(limits: Limits, seen: Seen) -> Offence | None:
    """The first rule ``seen`` breaks under ``limits``, with what matched; None if it is fine."""
    squeezed = squeeze(seen.text)
    for word, compared in limits.squeezed_words:
        if compared in squeezed:
            return Offence(Rule.WORD, word)
    if limits.links and seen.kind == "text":
        link = _LINK.search(unicodedata.normalize("NFKC", seen.text or ""))
        if link:
            return Offence(Rule.LINK, link.group(0)[:80])
    if limits.qr_codes and seen.kind == "image" and seen.has_qr:
        return Offence(Rule.QR_CODE, "二维码图片")
    if limits.cards and seen.kind == "card":
        return Offence(Rule.CARD, "名片")
    if limits.max_mentions is not None and seen.mentions > limits.max_mentions:
        return Offence(Rule.MENTIONS, f"{seen.mentions} 人")
    if limits.flood_messages is not None and seen.recent == limits.flood_messages + 1:
        return Offence(Rule.FLOOD, f"{seen.recent} 条/{limits.flood_seconds} 秒")
    return None


def next_step(policy: Policy, strikes_in_window: int, seller: bool) -> Step:
    """What a strike leads to, given the person's uncleared strikes within the window (this
    one included)."""
    return Step.REMOVE if strikes_in_window >= policy.strikes_allowed(seller) else Step.WARN

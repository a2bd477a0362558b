"""The rules of a brand group (品牌专属推广群): which text is a command, what its arguments
mean, who is welcomed, when stock next triggers a red packet, how a long relay list is cut,
and when a caption belongs to an image. Plain data in, plain data out.

Commands are a word at the start of a message, after any leading "@小助手 " mentions, followed
by nothing, a space or a colon — so "库存还有多少？" is a question, not the stock command:

>>> parse_group_command("@小助手 库存 xh-math-s1 200")
GroupCommand(name='stock', rest='xh-math-s1 200')
>>> parse_group_command("公告：今晚 8 点直播，不见不散！")
GroupCommand(name='announce', rest='今晚 8 点直播，不见不散！')
>>> parse_group_command("排行榜本周") == GroupCommand("leaderboard", "本周")
True
>>> parse_group_command("库存还有多少？") is None
True
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

T = TypeVar("T")

# Longest first: "发布排行榜" must win over "排行榜".
COMMAND_WORDS: tuple[tuple[str, str], ...] = (
    ("发布排行榜", "post_leaderboard"),
    ("开始接龙", "start_relay"),
    ("结束接龙", "end_relay"),
    ("排行榜", "leaderboard"),
    ("库存", "stock"),
    ("公告", "announce"),
    ("晒单", "showcase"),
)
COMMAND_NAMES = {name: word for word, name in COMMAND_WORDS}
MANAGER_COMMANDS = frozenset({"stock", "start_relay", "end_relay", "post_leaderboard", "announce"})

PERIOD_WORDS = {
    "今日": "today",
    "今天": "today",
    "本周": "week",
    "这周": "week",
    "本月": "month",
    "这个月": "month",
    "接龙": "push",
    "本次接龙": "push",
    "全部": "all",
    "总榜": "all",
    "累计": "all",
}
METRIC_WORDS = {
    "金额": "amount",
    "业绩": "amount",
    "销售额": "amount",
    "单数": "orders",
    "订单": "orders",
    "订单数": "orders",
    "新客": "new_customers",
    "新客户": "new_customers",
}
UNLIMITED_WORDS = ("不限", "无限", "不限量")
MAX_STOCK = 1_000_000
MAX_MENTIONS = 20  # one welcome mentions at most this many people; the text counts the rest
SHOWCASE_WINDOW = timedelta(minutes=5)
_SEPARATORS = ":：,，"


@dataclass(frozen=True)
class GroupCommand:
    name: str  # stock | start_relay | end_relay | leaderboard | post_leaderboard | announce | showcase
    rest: str  # what follows the word, as typed (case and full-width punctuation kept)


def strip_mentions(text: str) -> str:
    """Drop leading "@Name" mentions (WeChat separates them with U+2005 or a space).

    >>> strip_mentions("@小助手\u2005@张老师 开始接龙")
    '开始接龙'
    """
    rest = (text or "").strip()
    while rest.startswith("@"):
        cut = re.search(r"\s", rest)
        if cut is None:
            return ""
        rest = rest[cut.end() :].lstrip()
    return rest


def parse_group_command(text: str) -> GroupCommand | None:
    """The command a group message gives, or None when it is ordinary talk (see the module
    docstring). The leaderboard also takes its period glued on: "排行榜本周"."""
    body = strip_mentions(text)
    for word, name in COMMAND_WORDS:
        if not body.startswith(word):
            continue
        rest = body[len(word) :]
        if not rest or rest[0].isspace() or rest[0] in _SEPARATORS:
            return GroupCommand(name, rest.lstrip(_SEPARATORS + " \t\u2005").strip())
        if name == "leaderboard" and _leading_word(_fold(rest), (*PERIOD_WORDS, *METRIC_WORDS)):
            return GroupCommand(name, rest.strip())
        return None
    return None


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _leading_word(text: str, words: Iterable[str]) -> str | None:
    return next((w for w in sorted(words, key=len, reverse=True) if text.startswith(w)), None)


@dataclass(frozen=True)
class BoardQuery:
    period: str  # today | week | month | push | all
    metric: str  # amount | orders | new_customers


def parse_board_args(rest: str, push_open: bool) -> BoardQuery | None:
    """The period and metric of "排行榜 [今日|本周|本月|接龙|全部] [金额|单数|新客]", in either
    order, spaced or not; None when a word is not understood. Without a period: the open
    push while one runs, otherwise today. Without a metric: amount.

    >>> parse_board_args("本周 单数", push_open=False)
    BoardQuery(period='week', metric='orders')
    >>> parse_board_args("", push_open=True)
    BoardQuery(period='push', metric='amount')
    >>> parse_board_args("明年", push_open=False) is None
    True
    """
    text = _fold(rest).replace(" ", "")
    period = metric = None
    while text:
        word = _leading_word(text, (*PERIOD_WORDS, *METRIC_WORDS))
        if word is None:
            return None
        if word in PERIOD_WORDS:
            period = PERIOD_WORDS[word]
        else:
            metric = METRIC_WORDS[word]
        text = text[len(word) :]
    return BoardQuery(period or ("push" if push_open else "today"), metric or "amount")


@dataclass(frozen=True)
class StockArgs:
    sku: str  # upper case
    stock: int | None  # None: unlimited


def parse_stock_args(rest: str) -> StockArgs | None:
    """The arguments of "库存 <sku> <数量>": the sku (any case) and a whole number from 0 to 1,000,000, or
    不限 for unlimited stock; None when it is not that shape.

    >>> parse_stock_args("xh-math-s1 ２００")
    StockArgs(sku='XH-MATH-S1', stock=200)
    >>> parse_stock_args("XH-MATH-S1 不限")
    StockArgs(sku='XH-MATH-S1', stock=None)
    >>> parse_stock_args("XH-MATH-S1 两百") is None
    True
    """
    parts = _fold(rest).split()
    if len(parts) != 2:
        return None
    sku, amount = parts
    if amount in UNLIMITED_WORDS:
        return StockArgs(sku.upper(), None)
    amount = amount.removesuffix("份")
    if not (amount.isascii() and amount.isdigit()) or int(amount) > MAX_STOCK:
        return None
    return StockArgs(sku.upper(), int(amount))


def thresholds_reached(before: int, after: int, thresholds: Iterable[int]) -> list[int]:
    """The red-packet thresholds one order reaches, highest first. A threshold N is reached
    when the stock comes down to N or below ("库存降到 N 份及以下"): the order takes it from
    above N to N or less. So an order leaving exactly N reaches N, and each threshold fires
    once per stock setting (stock set at or below N does not fire N).

    >>> thresholds_reached(101, 100, [100, 50, 10]), thresholds_reached(120, 45, [10, 100, 50])
    ([100], [100, 50])
    >>> thresholds_reached(100, 99, [100, 50, 10])  # 100 was reached before this order
    []
    """
    return sorted((t for t in thresholds if after <= t < before), reverse=True)


def next_threshold(stock: int | None, thresholds: Iterable[int]) -> int | None:
    """The red-packet threshold the next orders will reach: the highest one below the stock
    (see :func:`thresholds_reached`).

    >>> next_threshold(120, [100, 50, 10]), next_threshold(100, [100, 50, 10]), next_threshold(5, [10])
    (100, 50, None)
    """
    if stock is None:
        return None
    below = [t for t in thresholds if t < stock]
    return max(below) if below else None


@dataclass(frozen=True)
class WelcomePlan:
    mention: tuple[str, ...]  # at most MAX_MENTIONS, in the order given
    count: int  # everyone welcomed, mentioned or not
    mark: tuple[str, ...]  # every unwelcomed member: marked welcomed now


def plan_welcome(
    unwelcomed: Sequence[str],
    *,
    named: Iterable[str],
    first_look: bool,
    helpers: Iterable[str],
    already: Sequence[str] = (),
    already_count: int = 0,
    max_mentions: int = MAX_MENTIONS,
) -> WelcomePlan:
    """Whom one welcome message greets. Every member not yet welcomed is, except the helper
    accounts — and except, at the bot's first look at a room, those already in it: then only
    the people the join event names are new (the rest were there before the bot kept count).
    A welcome still waiting in the outbox (``already`` mentioned, ``already_count`` greeted)
    absorbs the new people, so a wave of joins becomes one message.

    >>> plan_welcome(["a", "b", "helper"], named=["b"], first_look=False, helpers=["helper"])
    WelcomePlan(mention=('a', 'b'), count=2, mark=('a', 'b', 'helper'))
    >>> plan_welcome(["a", "b", "helper"], named=["b"], first_look=True, helpers=["helper"])
    WelcomePlan(mention=('b',), count=1, mark=('a', 'b', 'helper'))
    >>> plan_welcome(["c"], named=[], first_look=False, helpers=[], already=["a", "b"], already_count=2)
    WelcomePlan(mention=('a', 'b', 'c'), count=3, mark=('c',))
    """
    skip = set(helpers)
    named_set = set(named)
    new = [c for c in unwelcomed if c not in skip and (not first_look or c in named_set)]
    fresh = [c for c in new if c not in already]
    mention = tuple(dict.fromkeys([*already, *fresh]))[:max_mentions]
    return WelcomePlan(mention, already_count + len(fresh), tuple(unwelcomed))


def pages(items: Sequence[T], per_page: int, max_pages: int) -> tuple[list[list[T]], int]:
    """Cut a list into at most ``max_pages`` pages of ``per_page``; returns the pages and how
    many items did not fit (a relay of 1,000 lines is not posted as 25 messages).

    >>> pages(list(range(7)), 3, 2)
    ([[0, 1, 2], [3, 4, 5]], 1)
    >>> pages([], 3, 2)
    ([], 0)
    """
    shown = list(items[: per_page * max_pages])
    return [shown[i : i + per_page] for i in range(0, len(shown), per_page)], len(items) - len(shown)


_ORDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


def showcase_order_ref(rest: str) -> str | None:
    """The order id written after "晒单", if any: the first word when it looks like a shop
    order id (ASCII letters, digits, "-", "_", ".", ":"); other words are just talk.

    >>> showcase_order_ref("o-20261125-7 求红包"), showcase_order_ref("啦～"), showcase_order_ref("")
    ('o-20261125-7', None, None)
    """
    words = rest.strip(" :：\u2005").split()
    return words[0] if words and _ORDER_ID.fullmatch(words[0]) else None


def caption_pairs_with_image(image_at: datetime | None, text_at: datetime, window: timedelta = SHOWCASE_WINDOW) -> bool:
    """A "晒单" text counts for the sender's image in the same room when it comes at most
    ``window`` after it (WeChat sends a picture and its caption as two messages).

    >>> from datetime import UTC
    >>> t = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    >>> caption_pairs_with_image(t, t + timedelta(minutes=4)), caption_pairs_with_image(t, t + timedelta(minutes=6))
    (True, False)
    """
    return image_at is not None and timedelta(0) <= text_at - image_at <= window

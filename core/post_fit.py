"""Texts within a platform's size limit, counted in UTF-8 bytes (WeCom: a group-message task's
``text.content`` at most 4000 bytes, a 微信客服 text at most 2048 bytes — a Chinese character
is 3 bytes, so about 1333 and 682 of them).

The rules:

- :func:`cut`: a text over the limit keeps its longest head that ends at a line end (at a
  character when even its first line is too long), then "…"; never half a character.
- :func:`split`: a private message over the limit goes as several, each cut at line ends (a
  single line longer than the limit at characters); nothing is lost.
- :func:`fit_digest`: a capped group's digest — its relay lines, then its other posts (the
  newest leaderboard, announcements) each after a blank line — within the limit. The other
  posts are kept whole while they take at most half the limit (else cut to half); the relay
  lines then fill what is left, oldest first, and the ones that do not fit are counted on a
  last line (``more(n)``, e.g. "……另有 12 单未逐条列出"). Every line is stood for, listed or
  counted.

Worked example, a limit of 100 bytes: 8 relay lines "1. 李** 出单 数学 ×1" … "8. …" (26 bytes
each), a leaderboard "🏆 今日榜单：张** 12 单、王** 9 单" (46 bytes), ``more(n)`` = "……另有 n 单"
(18 bytes for one digit). All of it is 8 × 26 + 7 + 2 + 46 = 263 bytes. The leaderboard stays
whole (46 ≤ 50); 100 − 46 − 2 = 52 bytes are left; one line and the count take 26 + 1 + 18 =
45, two lines and the count 72 > 52 → the digest is "1. 李** 出单 数学 ×1", "……另有 7 单", a
blank line, the leaderboard: 93 bytes (:func:`fit_digest`'s example).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

ELLIPSIS = "…"
BLOCK = "\n\n"


def size(text: str) -> int:
    """The text's length as WeCom counts it: UTF-8 bytes."""
    return len(text.encode("utf-8"))


def _head(text: str, limit: int) -> str:
    """The longest head of ``text`` within ``limit`` bytes, whole characters only."""
    return text.encode("utf-8")[: max(0, limit)].decode("utf-8", errors="ignore")


def cut(text: str, limit: int) -> str:
    """``text`` itself when it fits; else its longest head ending at a line end (at a
    character if the first line alone is too long) followed by "…", within ``limit`` bytes.

    >>> cut("第一行\\n第二行", 13)
    '第一行\\n…'
    >>> cut("一二三四五", 9)
    '一二…'
    """
    if size(text) <= limit:
        return text
    room = limit - size(ELLIPSIS)
    if room <= 0:
        return _head(ELLIPSIS, limit)
    head = _head(text, room)
    end = head.rfind("\n")
    return (head[: end + 1] if end > 0 else head) + ELLIPSIS


def split(text: str, limit: int) -> list[str]:
    """``text`` as messages of at most ``limit`` bytes each, broken at line ends where a line
    fits, else inside the line (at a character); joined back with the line ends they were cut
    at, they are the text.

    >>> split("甲甲\\n乙乙\\n丙丙", 14)
    ['甲甲\\n乙乙', '丙丙']
    """
    if limit < 4:
        raise ValueError("a limit below 4 bytes cannot hold a character")
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if current and size(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while size(line) > limit:
            head = _head(line, limit)
            parts.append(head)
            line = line[len(head):]
        current = line
    if current or not parts:
        parts.append(current)
    return parts


@dataclass(frozen=True)
class Fitted:
    """A digest within the limit: its ``text``, how many relay lines it lists (``listed``,
    the oldest) and how many it counts on its last line instead (``counted``)."""

    text: str
    listed: int
    counted: int


def fit_digest(lines: Sequence[str], others: Sequence[str], limit: int, more: Callable[[int], str]) -> Fitted:
    """The digest of ``lines`` (relay lines, oldest first) and ``others`` (whole posts) in at
    most ``limit`` bytes (the module's rule and worked example).

    >>> lines = [f"{i}. 李** 出单 数学 ×1" for i in range(1, 9)]
    >>> fitted = fit_digest(lines, ["🏆 今日榜单：张** 12 单、王** 9 单"], 100, lambda n: f"……另有 {n} 单")
    >>> fitted.listed, fitted.counted, size(fitted.text)
    (1, 7, 93)
    >>> fitted.text.split("\\n")
    ['1. 李** 出单 数学 ×1', '……另有 7 单', '', '🏆 今日榜单：张** 12 单、王** 9 单']
    """
    blocks = [b for b in ("\n".join(lines), *others) if b]
    whole = BLOCK.join(blocks)
    if size(whole) <= limit:
        return Fitted(whole, len(lines), 0)
    rest = BLOCK.join(o for o in others if o)
    if not lines:
        return Fitted(cut(rest, limit), 0, 0)
    if rest and size(rest) > limit // 2:
        rest = cut(rest, limit // 2)
    room = limit - (size(rest) + size(BLOCK) if rest else 0)
    listed, used = 0, 0
    for n, line in enumerate(lines, 1):
        grown = used + (1 if listed else 0) + size(line)
        tail = 1 + size(more(len(lines) - n)) if n < len(lines) else 0
        if grown + tail > room:
            break
        listed, used = n, grown
    counted = len(lines) - listed
    relay = "\n".join([*lines[:listed], *([more(counted)] if counted else [])])
    text = BLOCK.join(b for b in (relay, rest) if b)
    return Fitted(cut(text, limit), listed, counted)

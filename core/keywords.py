"""Which brand a message asks for, and which of the brand's groups takes the next person.

Keywords are compared after normalising width, case and spaces (NFKC, lower case, spaces
dropped), and are found inside longer sentences too. A word made only of ASCII letters and
digits must stand on its own (no ASCII letter or digit right before or after it), so the
alias "xinghuo" is found in "我要进 xinghuo 群" but not in "xinghuotv"; Chinese words match
anywhere. When words overlap, the longer one wins.

Example: brands xinghuo [数学, 星火, 思维, xinghuo] and huiben [阅读, 绘本, 英语绘本]:
"我想进 ＸＩＮＧ Huo 的群" → (xinghuo,); "英语绘本和数学都想了解" → (huiben, xinghuo);
"xinghuotv" → ().

Groups fill in turn, like a group live-code: the first group (in position order) with fewer
members than ``min(capacity, rollover_at)`` takes the person — added directly while it has at
most 40 members, invited above that. Example: groups at 480/450 and 12/450, rollover 480 →
the second group, by direct add; both at 480 → None (all full).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import TypeVar

T = TypeVar("T")
DIRECT_ADD_MAX = 40  # WeChat: up to 40 members the helper may add someone directly


def normalise_keyword(text: str) -> str:
    """Full width to half width, lower case, no spaces: "Ｘｉｎｇ Huo" → "xinghuo"."""
    return "".join(unicodedata.normalize("NFKC", text or "").lower().split())


@dataclass(frozen=True)
class BrandWords:
    """A brand's keywords and aliases, as configured."""

    brand: str
    words: tuple[str, ...]

    @cached_property
    def normalised(self) -> frozenset[str]:
        """The words as they are compared (once per brand, not once per message)."""
        return frozenset(w for w in (normalise_keyword(word) for word in self.words) if w)


def _is_ascii_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _compact(text: str) -> tuple[str, list[int], str]:
    """The text normalised without spaces, where each of its characters sits in the
    normalised text with spaces, and that spaced text (for word boundaries)."""
    spaced = unicodedata.normalize("NFKC", text or "").lower()
    places = [i for i, ch in enumerate(spaced) if not ch.isspace()]
    return "".join(spaced[i] for i in places), places, spaced


def match_brands(text: str, brands: Sequence[BrandWords]) -> tuple[str, ...]:
    """The brands whose keywords or aliases ``text`` contains, in the order they appear."""
    compact, places, spaced = _compact(text)
    if not compact:
        return ()
    found: list[tuple[int, int, str]] = []  # (start, -length, brand)
    for entry in brands:
        for word in entry.normalised:
            start = compact.find(word)
            while start != -1:
                end = start + len(word)
                if _stands_alone(word, places[start], places[end - 1], spaced):
                    found.append((start, -len(word), entry.brand))
                start = compact.find(word, start + 1)
    taken_until = -1
    order: list[str] = []
    for start, negative_length, brand in sorted(found):
        if start < taken_until:
            continue  # inside a longer word already taken
        taken_until = start - negative_length
        if brand not in order:
            order.append(brand)
    return tuple(order)


def _stands_alone(word: str, first: int, last: int, spaced: str) -> bool:
    if not all(_is_ascii_word_char(ch) for ch in word):
        return True
    before = spaced[first - 1] if first > 0 else " "
    after = spaced[last + 1] if last + 1 < len(spaced) else " "
    return not _is_ascii_word_char(before) and not _is_ascii_word_char(after)


class Join(StrEnum):
    ADD = "add"  # the helper adds the person directly
    INVITE = "invite"  # the person gets an invitation to accept


@dataclass(frozen=True)
class GroupState:
    room: str
    members: int
    capacity: int


@dataclass(frozen=True)
class Placement:
    room: str
    join: Join


def choose_group(
    groups: Sequence[GroupState], rollover_at: int, direct_add_max: int | None = DIRECT_ADD_MAX
) -> Placement | None:
    """The group (``groups`` in fill order) that takes the next person, and how: a direct add
    while it has at most ``direct_add_max`` members, an invitation above (always, where
    ``direct_add_max`` is None: nobody can be added directly). None when every group has
    reached ``min(capacity, rollover_at)`` members.

    Example: groups of 40 and 12 members, rollover 480 → the first, by a direct add; with
    ``direct_add_max`` None → the first, by an invitation."""
    for group in groups:
        if group.members < min(group.capacity, rollover_at):
            direct = direct_add_max is not None and group.members <= direct_add_max
            return Placement(group.room, Join.ADD if direct else Join.INVITE)
    return None


def rotated(items: Sequence[T], day: int) -> list[T]:
    """``items`` starting from a different one each day (``day``: e.g. the date's ordinal),
    so a daily post does not repeat itself word for word. Example: [a, b, c], day 4 → [b, c, a]."""
    if not items:
        return []
    start = day % len(items)
    return [*items[start:], *items[:start]]

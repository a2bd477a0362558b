"""What ops give for a co-learning session (共学营), as one typed command: the fields of a new
session, or the fields an edit changes. The API, the console and the CLI each read their input
into a :class:`SessionDraft` with :meth:`SessionDraft.parse`; the service
(:mod:`services.colearning`) refuses a draft whose input was wrong with
:class:`~services.errors.Invalid`, listing every problem — those :meth:`~SessionDraft.parse`
found, then the service's own (an unknown course, a missing field, a session that ends before it
starts).

Example: ``SessionDraft.parse({"title": "数学", "starts_at": "2026-11-26 20:00"}, zone)`` →
``title="数学"``, ``starts_at`` 12:00 UTC (a time without an offset is the platform's local
time), every other field :data:`UNSET`; ``{"cards": 5}`` → the problem ``cards: give a list such
as ["24h", "1h", "10m"]``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from core.colearning import parse_offset


class Unset(Enum):
    UNSET = "unset"


UNSET = Unset.UNSET
"""A field the draft does not give (an edit leaves it as it is)."""

FIELDS: tuple[str, ...] = (
    "title",
    "course",
    "brand",
    "source_room",
    "lecturers",
    "starts_at",
    "ends_at",
    "groups",
    "reminders",
)
FIELDS += ("cards", "keyword")  # what ops may give, in the order a refusal names them
REQUIRED = ("title", "source_room", "lecturers", "starts_at", "ends_at")  # for a new session


@dataclass(frozen=True)
class SessionDraft:
    """The session's fields ops gave, each :data:`UNSET` when not given. ``course`` or ``brand``
    None: none; ``groups`` None: every enrolled group; ``reminders`` and ``cards``: minutes
    before and after the start. ``problems``: what was wrong with the input the draft was read
    from; ``offered``: every field that input named (read or not)."""

    title: str | Unset = UNSET
    source_room: str | Unset = UNSET
    keyword: str | Unset = UNSET
    course: str | Unset | None = UNSET
    brand: str | Unset | None = UNSET
    lecturers: list[str] | Unset = UNSET
    starts_at: datetime | Unset = UNSET
    ends_at: datetime | Unset = UNSET
    reminders: list[int] | Unset = UNSET
    cards: list[int] | Unset = UNSET
    groups: list[int] | Unset | None = UNSET
    problems: tuple[str, ...] = ()
    offered: frozenset[str] = field(default=frozenset())

    def given(self) -> dict[str, Any]:
        """The fields given, by name."""
        return {name: value for name in _FIELD_NAMES if (value := getattr(self, name)) is not UNSET}

    def missing(self, names: tuple[str, ...] = REQUIRED) -> list[str]:
        """``name: required`` for each of ``names`` neither given nor offered."""
        named = self.offered | set(self.given())
        return [f"{name}: required" for name in names if name not in named]

    @classmethod
    def parse(cls, data: Mapping[str, Any], zone: ZoneInfo) -> SessionDraft:
        """The fields present in ``data`` (JSON, a form, command-line options), read; every
        problem found is kept in ``problems`` for the service to refuse."""
        parsers: dict[str, Callable[[Any], Any]] = {
            "title": lambda v: str(v).strip(),
            "source_room": lambda v: str(v).strip(),
            "keyword": lambda v: str(v or "").strip(),
            "course": lambda v: (str(v).strip() or None) if v is not None else None,
            "brand": lambda v: (str(v).strip() or None) if v is not None else None,
            "lecturers": _names,
            "starts_at": lambda v: parse_time(v, zone),
            "ends_at": lambda v: parse_time(v, zone),
            "reminders": _offsets,
            "cards": _offsets,
            "groups": _groups,
        }
        values: dict[str, Any] = {}
        problems = [f"{key}: not a field (fields: {', '.join(FIELDS)})" for key in data if key not in parsers]
        for key, parse in parsers.items():
            if key in data:
                try:
                    values[key] = parse(data[key])
                except (ValueError, TypeError) as exc:
                    problems.append(f"{key}: {exc}")
        return cls(**values, problems=tuple(problems), offered=frozenset(k for k in data if k in parsers))


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(SessionDraft) if f.name not in ("problems", "offered"))


def parse_time(value: object, zone: ZoneInfo) -> datetime:
    """ISO 8601; without an offset, the platform's local time ("2026-11-26 20:00")."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(ZoneInfo("UTC"))


def _offsets(value: object) -> list[int]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError('give a list such as ["24h", "1h", "10m"]')
    return sorted({parse_offset(item) for item in items if str(item).strip()}, reverse=True)


def _names(value: object) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("give a list of contact ids")
    return [str(item).strip() for item in items if str(item).strip()]


def _groups(value: object) -> list[int] | None:
    if value is None or value == "all":
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or any(isinstance(i, bool) for i in items):
        raise ValueError('give "all" or a list of application ids')
    return sorted({int(item) for item in items})

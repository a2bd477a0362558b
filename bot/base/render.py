"""Every text the bot says comes from a template in ``templates/`` (``NAME.txt.j2``).

The environment is sandboxed with StrictUndefined: a template that names missing data fails
loudly in tests instead of sending a half-empty message, and ops editing a template cannot
reach Python internals. User text only ever arrives as data, never as template source.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined, Template, Undefined
from jinja2.sandbox import SandboxedEnvironment

from core.money import to_decimal, yuan
from core.privacy import mask_name, mask_phone

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SUFFIX = ".txt.j2"


def yuan_filter(value: Any) -> str:
    """The ``yuan`` filter, the same in messages and the console: an amount (Decimal, int or a
    numeric string; never a float) as "7,581.00". A missing amount fails as missing data does
    everywhere (UndefinedError), not as a wrong type."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return yuan(to_decimal(value))


RECHECK_SECONDS = 1.0  # how soon a template edited on disk is used
UNIQUE_AFTER = 32  # misses in a row after which a template's texts are taken to be one-offs
UNIQUE_FOR = 1000  # renders of such a template that skip the cache before it is tried again


class Renderer:
    def __init__(
        self,
        directory: Path = TEMPLATES,
        timezone: str = "Asia/Shanghai",
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.directory = directory
        self.monotonic = monotonic
        # Jinja would check a template's file (a stat) at every get_template, and again for
        # every {% import %} inside it; at thousands of messages a second, looking at the
        # folder once a second is enough: any edit there drops every compiled template.
        self._templates: dict[str, Template] = {}
        self._looked_at = -RECHECK_SECONDS
        self._folder: tuple[tuple[str, int, int], ...] | None = None
        self.timezone = ZoneInfo(timezone)
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(str(directory)),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self.env.filters["yuan"] = yuan_filter
        self.env.filters["mask_name"] = mask_name
        self.env.filters["mask_phone"] = mask_phone
        self.env.filters["local"] = self.local
        # Many messages are the same text for everyone (the menu): equal data, same template
        # object → the same text. A template edited on disk is a new object, so no stale text.
        self._cache: dict[Any, tuple[Any, str]] = {}
        self._by_identity: dict[tuple[str, int], tuple[Any, Any, str]] = {}  # data kept alive: ids stay unique
        # A template whose data is new every time (an earned DM names its order) would only
        # fill the cache: after UNIQUE_AFTER misses in a row it skips it for UNIQUE_FOR renders.
        self._misses: dict[str, int] = {}

    def local(self, value: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """``value`` in the platform's time zone, formatted (the templates' ``local`` filter)."""
        return value.astimezone(self.timezone).strftime(fmt)

    def render(self, name: str, data: Mapping[str, Any] | None = None) -> str:
        template = self._template(name)
        same = self._by_identity.get((name, id(data)))
        if same is not None and same[0] is data and same[1] is template:
            return same[2]  # the very same data object as last time (e.g. the menu's)
        misses = self._misses.get(name, 0)
        if misses >= UNIQUE_AFTER:
            self._misses[name] = misses + 1 if misses < UNIQUE_AFTER + UNIQUE_FOR else 0
            return template.render(**(data or {})).strip()
        key = _cache_key(name, data)
        if key is not None:
            cached = self._cache.get(key)
            if cached is not None and cached[0] is template:
                self._misses[name] = 0
                return cached[1]
        self._misses[name] = misses + 1
        text = template.render(**(data or {})).strip()
        if key is not None:
            if len(self._cache) >= 512:
                self._cache.clear()
                self._by_identity.clear()
            self._cache[key] = (template, text)
            self._by_identity[(name, id(data))] = (data, template, text)
        return text

    def _template(self, name: str) -> Template:
        """The template, reloaded within ``RECHECK_SECONDS`` when ops edit a file of the folder."""
        now = self.monotonic()
        if now - self._looked_at >= RECHECK_SECONDS:
            self._looked_at = now
            folder = tuple(
                (entry.name, stat.st_mtime_ns, stat.st_size)
                for entry in sorted(os.scandir(self.directory), key=lambda e: e.name)
                if entry.name.endswith(".j2")
                for stat in [entry.stat()]
            )
            if folder != self._folder:
                self._folder = folder
                if self.env.cache is not None:
                    self.env.cache.clear()  # imported ones (_labels.j2…) too
                self._templates.clear()
        template = self._templates.get(name)
        if template is None:
            template = self._templates[name] = self.env.get_template(name + SUFFIX)
        return template

    def names(self) -> list[str]:
        return sorted(
            p.name.removesuffix(SUFFIX) for p in self.directory.glob(f"*{SUFFIX}") if not p.name.startswith("_")
        )


def _cache_key(name: str, data: Mapping[str, Any] | None) -> Any:
    """A hashable form of the data, or None when it has something unhashable."""
    try:
        key = (name, _freeze(data or {}))
        hash(key)
        return key
    except TypeError:
        return None


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value

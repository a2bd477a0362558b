"""Every text the bot says comes from a template in ``templates/`` (``NAME.txt.j2``).

The environment is sandboxed with StrictUndefined: a template that names missing data fails
loudly in tests instead of sending a half-empty message, and ops editing a template cannot
reach Python internals. User text only ever arrives as data, never as template source.
"""

from __future__ import annotations

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


class Renderer:
    def __init__(
        self,
        directory: Path = TEMPLATES,
        timezone: str = "Asia/Shanghai",
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.directory = directory
        self.monotonic = monotonic
        # name → (template, when its file was last checked): Jinja checks the file (a stat)
        # at every get_template; at thousands of messages a second, once a second is enough.
        self._templates: dict[str, tuple[Template, float]] = {}
        self.timezone = ZoneInfo(timezone)
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(str(directory)),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["yuan"] = yuan_filter
        self.env.filters["mask_name"] = mask_name
        self.env.filters["mask_phone"] = mask_phone
        self.env.filters["local"] = self.local
        # Many messages are the same text for everyone (the menu): equal data, same template
        # object → the same text. A template edited on disk is a new object, so no stale text.
        self._cache: dict[Any, tuple[Any, str]] = {}
        self._by_identity: dict[tuple[str, int], tuple[Any, Any, str]] = {}  # data kept alive: ids stay unique

    def local(self, value: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """``value`` in the platform's time zone, formatted (the templates' ``local`` filter)."""
        return value.astimezone(self.timezone).strftime(fmt)

    def render(self, name: str, data: Mapping[str, Any] | None = None) -> str:
        template = self._template(name)
        same = self._by_identity.get((name, id(data)))
        if same is not None and same[0] is data and same[1] is template:
            return same[2]  # the very same data object as last time (e.g. the menu's)
        key = _cache_key(name, data)
        if key is not None:
            cached = self._cache.get(key)
            if cached is not None and cached[0] is template:
                return cached[1]
        text = template.render(**(data or {})).strip()
        if key is not None:
            if len(self._cache) >= 512:
                self._cache.clear()
                self._by_identity.clear()
            self._cache[key] = (template, text)
            self._by_identity[(name, id(data))] = (data, template, text)
        return text

    def _template(self, name: str) -> Template:
        """The template, reloaded within ``RECHECK_SECONDS`` when ops edit its file."""
        now = self.monotonic()
        known = self._templates.get(name)
        if known is not None and now - known[1] < RECHECK_SECONDS:
            return known[0]
        template = self.env.get_template(name + SUFFIX)
        self._templates[name] = (template, now)
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

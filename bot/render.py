"""Every text the bot says comes from a template in ``templates/`` (``NAME.txt.j2``).

The environment is sandboxed with StrictUndefined: a template that names missing data fails
loudly in tests instead of sending a half-empty message, and ops editing a template cannot
reach Python internals. User text only ever arrives as data, never as template source.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from core.money import to_decimal, yuan
from core.privacy import mask_name, mask_phone

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SUFFIX = ".txt.j2"


def _yuan(value: Any) -> str:
    return yuan(to_decimal(value))


class Renderer:
    def __init__(self, directory: Path = TEMPLATES, timezone: str = "Asia/Shanghai"):
        self.directory = directory
        self.timezone = ZoneInfo(timezone)
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(str(directory)),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["yuan"] = _yuan
        self.env.filters["mask_name"] = mask_name
        self.env.filters["mask_phone"] = mask_phone
        self.env.filters["local"] = self._local

    def _local(self, value: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(self.timezone).strftime(fmt)

    def render(self, name: str, data: Mapping[str, Any] | None = None) -> str:
        return self.env.get_template(name + SUFFIX).render(**(data or {})).strip()

    def names(self) -> list[str]:
        return sorted(
            p.name.removesuffix(SUFFIX) for p in self.directory.glob(f"*{SUFFIX}") if not p.name.startswith("_")
        )

"""Problems found in a configuration: where, and what is wrong, in words ops can act on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One finding. ``path`` is dotted config keys, e.g. ``commission.table.management.A.C``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigProblems(ValueError):
    """Raised with every error found at once, so ops can fix them in one pass."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

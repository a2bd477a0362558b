"""Reading YAML for configuration: numbers with a decimal point become ``Decimal`` (never
float), and every key's line is remembered so errors can say where they are."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml


class _DecimalLoader(yaml.SafeLoader):
    """SafeLoader that reads 0.8 as Decimal("0.8"): money and shares must never be float."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise yaml.constructor.ConstructorError(None, None, f"not a number: {node.value!r}", node.start_mark) from None
    if not value.is_finite():
        raise yaml.constructor.ConstructorError(None, None, f"not a finite number: {node.value!r}", node.start_mark)
    return value


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
# YAML 1.1 reads 1e3 without a dot as a string; treat plain exponents as numbers too.
_DecimalLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_DecimalLoader)


def line_index(text: str) -> dict[str, int]:
    """Map each path (``brands[0].courses[1].pool``) to its 1-based line."""
    index: dict[str, int] = {}
    try:
        root = yaml.compose(text, Loader=_DecimalLoader)
    except yaml.YAMLError:
        return index

    def walk(node: yaml.Node, path: str) -> None:
        index.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = f"{path}.{key.value}" if path else str(key.value)
                index[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{path}[{i}]")

    if root is not None:
        walk(root, "")
    return index


def locate(index: dict[str, int], path: str) -> int | None:
    """The line of ``path``, or of its nearest ancestor that is in the file."""
    while path:
        if path in index:
            return index[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
    return index.get(path)


def read(path: Path) -> tuple[str, Any]:
    text = path.read_text(encoding="utf-8")
    return text, load_yaml(text)

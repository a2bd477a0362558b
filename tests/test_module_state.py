"""No module-level mutable state mutated by functions: what lives across events belongs to
objects the composition root owns (``bot.app``) or the root object keeps (``env.kept``).

The check reads the source (``ast``) of ``core``, ``models``, ``services``, ``bot`` and
``handlers`` and refuses, inside any function or lambda:
- a ``global`` statement;
- a change to a module-level container — a name bound at module level to a dict, list or set
  (literal, comprehension, or ``dict()``/``list()``/``set()``/``defaultdict()``/``deque()``/
  ``Counter()``/``OrderedDict()``) that is written through a subscript (``CACHE[k] = v``,
  ``del CACHE[k]``, ``CACHE[k] += 1``) or a mutating method (``append``, ``add``, ``update``,
  ``setdefault``, ``pop``, ``clear``, …);
- an attribute set on a module-level object made by calling a class (``SOURCES.rooms = …``).

What it cannot see, said plainly: a module-level object changed through a method of its own
(``SOURCES.replace(rows)``), state hidden in a closure or a class attribute, a module-level
name passed to a function that mutates it. Those are left to review; the check catches the
common forms. Routers filled by decorators at import time are not functions: not refused.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import ROOT

PACKAGES = ("core", "models", "services", "bot", "handlers")
CONTAINERS = {"dict", "list", "set", "defaultdict", "deque", "Counter", "OrderedDict"}
MUTATORS = {
    "append", "appendleft", "extend", "extendleft", "insert", "pop", "popleft", "popitem", "remove",
    "clear", "update", "setdefault", "add", "discard", "sort", "reverse", "difference_update",
    "intersection_update", "symmetric_difference_update",
}  # fmt: skip


def _is_container(value: ast.expr) -> bool:
    if isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        return name in CONTAINERS
    return False


def _is_instance(value: ast.expr) -> bool:
    """A call of a capitalised name: most likely an object of a class."""
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name[:1].isupper() and name not in CONTAINERS


def _module_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Module-level names bound to a container, and to an object."""
    containers: set[str] = set()
    objects: set[str] = set()
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            if isinstance(target, ast.Name) and value is not None:
                if _is_container(value):
                    containers.add(target.id)
                elif _is_instance(value):
                    objects.add(target.id)
    return containers, objects


def _local_names(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    args = function.args
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def problems_in(source: str, where: str) -> list[str]:
    """What the check refuses in ``source`` (a module's text), each as ``where:line: why``."""
    tree = ast.parse(source)
    containers, objects = _module_names(tree)
    found: list[str] = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        local = _local_names(function)
        for node in ast.walk(function):
            if isinstance(node, ast.Global):
                found.append(f"{where}:{node.lineno}: global {', '.join(node.names)}")
                continue
            target: ast.expr | None = None
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
                target = node.value
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in MUTATORS
            ):
                target = node.func.value
            if isinstance(target, ast.Name) and target.id in containers and target.id not in local:
                found.append(f"{where}:{node.lineno}: module-level {target.id} changed in a function")
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id in objects
                and node.value.id not in local
            ):
                found.append(f"{where}:{node.lineno}: module-level {node.value.id}.{node.attr} set in a function")
    return sorted(set(found))


def test_no_function_changes_module_level_state():
    found: list[str] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found += problems_in(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == []


def test_the_check_refuses_a_module_cache_a_global_and_an_object_set_from_a_function():
    source = """
from collections import defaultdict
_CACHE: dict[int, str] = {}
SEEN = defaultdict(list)
STATE = Holder()
COUNT = 0
NAMES = ("a", "b")

def remember(key, value):
    _CACHE[key] = value
    SEEN[key].append(value)  # a value inside SEEN: not seen (see the docstring)
    SEEN.pop(key, None)

def bump():
    global COUNT
    COUNT += 1
    STATE.rooms = {}

def fine(_CACHE):
    _CACHE[1] = "a parameter, not the module's"
    local = {}
    local["x"] = NAMES[0]
"""
    assert problems_in(source, "m.py") == [
        "m.py:10: module-level _CACHE changed in a function",
        "m.py:12: module-level SEEN changed in a function",
        "m.py:15: global COUNT",
        "m.py:17: module-level STATE.rooms set in a function",
    ]


def test_the_check_reads_every_package_it_names():
    assert all(any((Path(ROOT) / package).rglob("*.py")) for package in PACKAGES)

"""`make bench` runs the benchmarks (benchmarks/README.md), which take minutes and no test runs whole: each name a
benchmark takes from the package, in its own code and in the scripts it hands to another process, must still be
there. (A constant that moved from ``accounts`` to ``desired`` once stopped ``make bench`` at its second benchmark.)"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "DeadlineSpotIamSetup"
BENCHMARKS = sorted((ROOT / "benchmarks").glob("*.py"))


def sources(path: Path) -> list[ast.Module]:
    """The benchmark's code, and every string in it that is Python code importing from the package (a script run by
    another interpreter)."""
    module = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = [module]
    for node in ast.walk(module):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and f"from {PACKAGE}" in node.value:
            try:
                found.append(ast.parse(node.value))
            except SyntaxError:  # a fragment, not a script
                continue
    return found


def unresolved(tree: ast.Module) -> list[str]:
    """``from PACKAGE.x import name`` whose name module x lacks, and ``alias.name`` on a module of the package imported
    as ``alias`` (``from PACKAGE import x``, ``import PACKAGE.x as alias``) that it lacks."""
    missing, modules = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            imported = importlib.import_module(node.module)
            for alias in node.names:
                value = getattr(imported, alias.name, None)
                if value is None:
                    try:
                        value = importlib.import_module(f"{node.module}.{alias.name}")
                    except ImportError:
                        missing.append(f"{node.module}.{alias.name}")
                        continue
                if type(value).__name__ == "module":
                    modules[alias.asname or alias.name] = value
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE and alias.asname:
                    modules[alias.asname] = importlib.import_module(alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            if not hasattr(modules[node.value.id], node.attr):
                missing.append(f"{modules[node.value.id].__name__}.{node.attr}")
    return missing


@pytest.mark.parametrize("path", BENCHMARKS, ids=[path.name for path in BENCHMARKS])
def test_every_name_a_benchmark_takes_from_the_package_is_there(path: Path) -> None:
    assert [name for tree in sources(path) for name in unresolved(tree)] == []


def test_a_name_that_moved_is_found() -> None:
    script = f"from {PACKAGE} import accounts\nfrom {PACKAGE}.accounts import DEFAULT_ROLE_NAME\naccounts.NO_SUCH\n"
    assert unresolved(ast.parse(script)) == [f"{PACKAGE}.accounts.DEFAULT_ROLE_NAME", f"{PACKAGE}.accounts.NO_SUCH"]

"""The shape of the code: no function in ``src/deepclust`` longer than 80 lines.

A function's length is counted from its ``def`` line (decorators excluded) to its last line,
docstring included: a function that needs more is several steps, and each step can be named,
documented and tested alone (STYLE.md; issue 14).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "deepclust"
MAX_LINES = 80

# Functions allowed to be longer: none. Split a long function into named steps instead.
ALLOWED_LONG: set[str] = set()  # empty since the redesign of issue 14 landed; keep it so


def long_functions(root: Path = PACKAGE, max_lines: int = MAX_LINES) -> dict[str, int]:
    """``{"path/to/file.py::qualified.name": lines}`` for every function longer than ``max_lines``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(root).as_posix()
        for name, node in _functions(tree):
            lines = node.end_lineno - node.lineno + 1
            if lines > max_lines:
                found[f"{rel}::{name}"] = lines
    return found


def _functions(tree: ast.AST, prefix: str = ""):
    """``(qualified name, node)`` for every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def test_no_function_is_longer_than_80_lines():
    found = long_functions()
    new = {k: v for k, v in found.items() if k not in ALLOWED_LONG}
    assert not new, "functions longer than 80 lines (split them into named steps):\n" + "\n".join(
        f"  src/deepclust/{k}: {v} lines" for k, v in sorted(new.items())
    )


def test_the_allow_list_only_holds_functions_that_are_still_long():
    # an entry whose function was split (or renamed) must leave the list, so that it shrinks
    stale = sorted(ALLOWED_LONG - set(long_functions()))
    assert not stale, f"remove from ALLOWED_LONG in tests/test_code_shape.py, they are no longer too long: {stale}"


def test_the_check_counts_methods_and_nested_functions(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(80))
    (tmp_path / "m.py").write_text(
        f"class A:\n    def short(self):\n        return 1\n\n    def long(self):\n    {body.replace(chr(10), chr(10) + '    ')}\n\n"
        f"def outer():\n    def inner():\n    {body.replace(chr(10), chr(10) + '    ')}\n    return inner\n"
    )
    found = long_functions(tmp_path)
    assert set(found) == {"m.py::A.long", "m.py::outer", "m.py::outer.inner"}
    assert found["m.py::A.long"] == 81

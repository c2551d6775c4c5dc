"""The package's layers, enforced: nothing in ``src/deepclust`` imports from a layer above its own.

The table below is the one in the README ("Architecture"). Every ``import`` and ``from ...
import`` is read with :mod:`ast`, including the ones inside functions (a lazy import is still a
dependency), and resolved to the top-level part of the package it reaches (``nn``, ``train``,
``methods``, ...). Same-layer imports are allowed; the test names the file, the line and the
forbidden import of every upward one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "deepclust"

# Bottom to top. ``model_selection`` sits with the consumers of fitted estimators (it fits
# methods over a range of k and seeds and scores them with metrics, and draws its k sweep
# with plotting), below the run pipeline that calls it.
LAYERS: list[tuple[str, ...]] = [
    ("deepclust", "_io", "_version"),  # base utilities: the package root, atomic files, the version
    ("nn",),
    ("heads", "losses"),
    ("train",),
    ("datasets", "preprocess"),
    ("metrics",),
    ("methods",),
    ("model_selection", "explain", "plotting", "reporting"),
    ("runs", "bench"),
    ("cli", "__main__"),
]
LEVEL = {part: i for i, parts in enumerate(LAYERS) for part in parts}


def _part(module: str) -> str:
    """``deepclust.methods.dec`` -> ``methods``; ``deepclust`` -> ``deepclust``."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else pieces[0]


def _module_name(path: Path, root: Path = PACKAGE) -> tuple[str, bool]:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def imported_modules(path: Path, root: Path = PACKAGE) -> list[tuple[int, str, str]]:
    """``(line, absolute module, statement)`` for every import of ``deepclust`` code in the file
    at ``path`` (a file of the package whose folder is ``root``)."""
    module, is_package = _module_name(path, root)
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, ast.unparse(node)) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: climb level - 1 packages from this file's package
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "deepclust":  # `from deepclust import methods` reaches deepclust.methods
                found += [(node.lineno, f"deepclust.{alias.name}", ast.unparse(node)) for alias in node.names]
            else:
                found.append((node.lineno, target, ast.unparse(node)))
    return [(line, name, code) for line, name, code in found if name == "deepclust" or name.startswith("deepclust.")]


def upward_imports(root: Path = PACKAGE) -> list[str]:
    """One message per import that reaches a layer above the importing file's layer."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        module, _ = _module_name(path, root)
        own = _part(module)
        for line, target, code in imported_modules(path, root):
            theirs, where = _part(target), f"{path.relative_to(root.parent)}:{line}"
            if theirs not in LEVEL:
                problems.append(f"{where}: `{code}` reaches {theirs!r}, which has no layer in LAYERS")
            elif LEVEL[theirs] > LEVEL[own]:
                problems.append(f"{where}: `{code}`: {own} (layer {LEVEL[own]}) imports from {theirs} (layer {LEVEL[theirs]}), a layer above it")
    return problems


def test_every_part_of_the_package_has_a_layer():
    parts = {_part(_module_name(p)[0]) for p in PACKAGE.rglob("*.py")}
    missing = sorted(parts - set(LEVEL))
    assert not missing, f"place these parts of src/deepclust in LAYERS (tests/test_layering.py) and the README's table: {missing}"


def test_nothing_imports_from_a_layer_above():
    problems = upward_imports()
    assert not problems, "upward imports (see the README's Architecture section):\n" + "\n".join(problems)


def test_the_check_finds_an_upward_import_inside_a_function(tmp_path):
    # a small fake package: nn imports methods lazily (forbidden), methods imports nn (allowed)
    pkg = tmp_path / "deepclust"
    (pkg / "nn").mkdir(parents=True)
    (pkg / "methods").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "nn" / "__init__.py").write_text("")
    (pkg / "methods" / "__init__.py").write_text("from deepclust.nn import x\n")
    (pkg / "nn" / "spec.py").write_text("import os\n\n\ndef f():\n    from ..methods import streaming\n    return streaming\n")
    problems = upward_imports(pkg)
    assert problems == ["deepclust/nn/spec.py:5: `from ..methods import streaming`: nn (layer 1) imports from methods (layer 6), a layer above it"]


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from deepclust import cli\n", "deepclust.cli"),
        ("import deepclust.runs as r\n", "deepclust.runs"),
        ("from . import cli\n", "deepclust.cli"),
    ],
)
def test_import_forms_are_resolved(tmp_path, source, expected):
    pkg = tmp_path / "deepclust"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(source)
    assert [(line, name) for line, name, _ in imported_modules(pkg / "__init__.py", pkg)] == [(1, expected)]


FILE_MODULES = ("json", "yaml", "pathlib", "pickle", "h5py", "pandas", "csv", "io")


def test_network_layers_read_no_files():
    """nn, heads and losses parse dicts and tensors; reading files belongs to the layers above
    (deepclust.datasets.load_network_spec reads a spec file, deepclust._io holds the parsers)."""
    problems = []
    for path in sorted([*(PACKAGE / "nn").rglob("*.py"), *(PACKAGE / "heads").rglob("*.py"), PACKAGE / "losses.py"]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            bad = [n for n in names if n.split(".")[0] in FILE_MODULES]
            if bad or (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open"):
                problems.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: `{ast.unparse(node)}`")
    assert not problems, "file handling in the network layers:\n" + "\n".join(problems)

"""The method registry is the one place that knows facts about methods; docs and help come from it."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deepclust.methods.registry import METHODS, assigns_to_nearest_centre, build_method, methods_table

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "deepclust"


def test_readme_method_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- methods table:[^\n]*-->\n(.*?)<!-- end of methods table -->", readme, flags=re.S)
    assert match is not None, "README.md lost the markers of the generated method table"
    assert match.group(1) == methods_table(), "README's method table is stale: paste deepclust.methods.registry.methods_table()"


def test_methods_table_has_one_row_per_method():
    rows = methods_table().splitlines()[2:]
    assert [r.split("|")[1].strip().strip("`") for r in rows] == list(METHODS)
    assert "| `dec` |" in methods_table() and "| yes | kmeans |" in rows[list(METHODS).index("dec")]


@pytest.mark.parametrize("method, dims, expected", [
    ("n2d", 10, "gmm"), ("umap-gmm", 10, "gmm"), ("vade", 10, "gmm"), ("vade", 33, "gmm-diag"), ("ae-gmm", 40, "gmm-diag"),
    ("ae-agglomerative", 10, "agglomerative"), ("dec", 10, "kmeans"), ("dcn", 50, "kmeans"), ("leiden", 10, "kmeans"),
])
def test_the_k_sweep_asks_the_registry(method, dims, expected):
    from deepclust.model_selection._fit import sweep_clusterer

    assert sweep_clusterer(method, dims) == expected


def test_a_registered_method_needs_no_edit_elsewhere_for_its_sweep():
    from deepclust.methods import RawClustering
    from deepclust.methods.registry import MethodSpec, register_method
    from deepclust.model_selection._fit import sweep_clusterer

    spec = register_method(MethodSpec("toy-ward", "toy", RawClustering, {"clusterer": "agglomerative"}))
    try:
        assert sweep_clusterer("toy-ward", 5) == "agglomerative" and not spec.deep and not spec.nearest_centre
    finally:
        del METHODS["toy-ward"]


@pytest.mark.parametrize("name", ["kmeans", "gmm", "agglomerative", "pca-kmeans", "pca-gmm"])
def test_nearest_centre_fact_matches_the_fitted_model(name):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.3, (25, 12)) for c in (0.0, 3.0, 6.0)]).astype(np.float32)
    est = build_method(name, 3, 0).fit(X)
    assert assigns_to_nearest_centre(est) == METHODS[name].nearest_centre


def test_nearest_centre_for_head_models_comes_from_the_registry():
    from deepclust.methods import DCN, DEC, IDEC, VaDE

    for cls, expected in ((DEC, True), (IDEC, True), (DCN, True), (VaDE, False)):
        assert assigns_to_nearest_centre(cls(n_clusters=2)) is expected
    assert assigns_to_nearest_centre(object()) is False


def test_streams_is_declared_by_the_embedding():
    assert METHODS["ae-kmeans"].streams and METHODS["dec"].streams
    assert not METHODS["kmeans"].streams and not METHODS["pca-kmeans"].streams


def _class_names() -> set[str]:
    import deepclust.heads as heads
    import deepclust.methods as methods

    return {n for mod in (heads, methods) for n in dir(mod) if isinstance(getattr(mod, n), type)}


def _string_constants(node) -> list[str]:
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]


def test_no_code_outside_the_registry_matches_method_or_class_names():
    # Clusterer names ("kmeans", "gmm", ...) are also method names; matching them is about clusterers.
    from deepclust.methods._clusterers import CLUSTERER_NAMES

    methods_only = set(METHODS) - set(CLUSTERER_NAMES)
    classes = _class_names()
    found = []
    for path in SRC.rglob("*.py"):
        if path == SRC / "methods" / "registry.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Compare):
                continue
            literals = [s for c in node.comparators for s in _string_constants(c)] + _string_constants(node.left)
            hits = [s for s in literals if s in methods_only or s in classes]
            if hits:
                found.append(f"{path.relative_to(SRC)}:{node.lineno}: {hits}")
    assert not found, "facts about methods belong in the registry:\n" + "\n".join(found)


def test_cli_help_lists_every_registered_method(capsys):
    from deepclust.cli import main

    for command in ("fit", "select-k"):
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0
        text = "".join(capsys.readouterr().out.split())  # argparse wraps long names at hyphens
        missing = [name for name in METHODS if name not in text]
        assert not missing, f"{command} --help lacks {missing}"


def test_building_the_parser_does_not_import_torch():
    code = "import sys; from deepclust.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(SRC.parent)})
    assert out.stdout.strip() == "False"

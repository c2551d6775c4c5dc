"""The README's headline table is the one benchmarks/make_results.py computes from the committed results."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _make_results():
    spec = importlib.util.spec_from_file_location("make_results", ROOT / "benchmarks" / "make_results.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_results"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_readme_suite_table_is_generated_from_the_results_file():
    mr = _make_results()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = (re.escape(m) for m in mr.README_MARKERS)
    match = re.search(start + r"\n(.*?)" + end, readme, flags=re.S)
    assert match is not None, "README.md lost the markers of the suite table"
    assert match.group(1) == mr.suite_table(), "README's suite table is stale: run python benchmarks/make_results.py"


def test_suite_table_counts_finished_runs_and_compares_with_the_best_baseline(tmp_path, monkeypatch):
    mr = _make_results()
    cfg = tmp_path / "configs" / "s.toml"
    cfg.parent.mkdir()
    cfg.write_text('name = "s"\nresults = "../r.csv"\nseeds = "0-1"\n[[datasets]]\nname = "digits"\n'
                   '[[methods]]\nname = "kmeans"\n[[methods]]\nname = "umap-gmm"\n[[methods]]\nname = "n2d"\n')
    rows = [("kmeans", 0, 0.70, "ok"), ("kmeans", 1, 0.80, "ok"), ("umap-gmm", 0, 0.88, "ok"), ("n2d", 0, 0.85, "ok"), ("n2d", 1, 0.99, "failed")]
    pd.DataFrame([{"dataset": "digits", "method": m, "seed": s, "acc": a, "status": st, "commit": "abc"} for m, s, a, st in rows]).to_csv(tmp_path / "r.csv", index=False)
    monkeypatch.setattr(mr, "HERE", tmp_path)
    line = mr.suite_table("configs/s.toml").splitlines()[2]
    # the failed seed is not counted; k-means is a mean ± sd over its two seeds; n2d is below UMAP + GMM by 0.03
    assert line == "| digits | 0.750 ± 0.071 (2/2) | 0.880 (1/2) | 0.850 (1/2) | `umap-gmm` 0.880 | no (-0.030) | no (-0.030), `n2d` |"

"""Run the cells of benchmarks/configs/exposome_batch.toml in this one process.

Why not ``deepclust bench``: on the shared 2-core machine each harness cell spent about two
minutes importing torch, scikit-learn and UMAP (and compiling UMAP's numba code) before a
fit of well under a minute. Here the imports and the compilation happen once. Rows and
side-file rows are written by the harness's own ``record_cell`` (same files, same columns,
finished cells skipped, so an interrupted run resumes), except that ``peak_rss_mb`` is this
process's peak so far and no per-cell time limit is enforced.

Cells run cheapest first (k-means, GMM on every table), then the deep methods seed by seed on
serum and serum-combat, then on the other tables, so that a partial run already answers the
main question.

    OMP_NUM_THREADS=1 DEEPCLUST_DATA=../shared/data nice -n 10 python benchmarks/exposome_batch.py
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from deepclust.bench._results import command_line, git_commit, read_rows
from deepclust.bench.cell import run_cell
from deepclust.bench.config import load_config
from deepclust.bench.runner import cell_spec, record_cell

CONFIG = Path(__file__).parent / "configs" / "exposome_batch.toml"
CHEAP = ("kmeans", "gmm")
FIRST = ("serum", "serum-combat")

logging.basicConfig(level=logging.INFO, format="%(message)s")
log = logging.getLogger("exposome_batch")


def ordered_cells(cfg):
    cells = list(cfg.cells())
    cheap = [c for c in cells if c[1].key in CHEAP]
    deep = [c for c in cells if c[1].key not in CHEAP]
    rank = {d.key: (0 if d.key in FIRST else 1) for d in cfg.datasets}
    deep.sort(key=lambda c: (rank[c[0].key], c[2], [d.key for d in cfg.datasets].index(c[0].key), [m.key for m in cfg.methods].index(c[1].key)))
    return cheap + deep


def _cache_loads() -> None:
    """Parse each table once: run_cell looks load_dataset up at call time, so the cached one
    is used (a Dataset is frozen, and the cell does not modify its arrays)."""
    import deepclust.datasets as datasets

    original, cache = datasets.load_dataset, {}

    def load_dataset(name, **kwargs):
        key = (str(name), json.dumps(kwargs, sort_keys=True, default=str))
        if key not in cache:
            cache[key] = original(name, **kwargs)
        return cache[key]

    datasets.load_dataset = load_dataset


def main() -> int:
    _cache_loads()
    cfg = load_config(CONFIG)
    done = {(r["dataset"], r["method"], int(r["seed"])) for r in read_rows(cfg.results) if r.get("status", "ok") == "ok"}
    pending = [c for c in ordered_cells(cfg) if (c[0].key, c[1].key, c[2]) not in done]
    log.info("%d cells, %d to run", len(list(cfg.cells())), len(pending))
    command = command_line()
    commit = git_commit()  # the tree this process imported, whatever happens to the checkout meanwhile
    for i, (d, m, seed) in enumerate(pending, 1):
        t0 = time.perf_counter()
        try:
            out = {"status": "ok", **run_cell(json.loads(json.dumps(cell_spec(cfg, d, m, seed))))}
        except Exception as exc:  # recorded, as the harness does, and the grid goes on
            out = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - t0}
        record_cell(cfg, d, m, seed, out, commit=commit, command=command)
        if out["status"] == "ok":
            log.info("[%d/%d] %s / %s / %d: ari %.3f nmi %.3f in %.0f s", i, len(pending), d.key, m.key, seed, out["ari"], out["nmi"], out["seconds"])
        else:
            log.warning("[%d/%d] %s / %s / %d: %s", i, len(pending), d.key, m.key, seed, out["error"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

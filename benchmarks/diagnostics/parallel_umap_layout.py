"""ParallelUMAP's layout against umap-learn's optimiser on the same graph and start (issue 16).

The proxy for N2D's codes: PCA-10 of a random subset of MNIST's training images (``--n`` rows,
subset and PCA with seed 0). The fuzzy graph (exact 20 neighbours), umap-learn's pruning and the
spectral start are built once, as ``ParallelUMAP.fit`` builds them; every layout then starts
from them and runs umap-learn's epoch count (500 up to 10,000 points, else 200). Scores (labels
only score): a full-covariance GMM's ACC and NMI (10 components, seed 0, N2D's clusterer),
trustworthiness (10 neighbours) and the silhouette of the digit classes on a fixed 5,000-row
sample, and the fraction of each point's 10 nearest neighbours kept in the layout.

Layouts (``--layouts``):
  umap       umap-learn's ``optimize_layout_euclidean`` with ``move_other=True``, as ``UMAP.fit``
             runs it (float32, sequential); the seed picks its random state
  parallel   this checkout's ``optimize_layout`` (``--rounds`` overrides the rounds per epoch)
  snapshot   ParallelUMAP's first layout (all of an epoch's updates summed from one snapshot),
             read from git commit 24d8ed9 for comparison

Usage::

    DEEPCLUST_DATA=../shared/data PYTHONPATH=src OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 \\
        python benchmarks/diagnostics/parallel_umap_layout.py --n 20000 --seeds 0 1 2 --layouts parallel umap snapshot

Rows are appended to ``benchmarks/results/parallel_umap_layout.csv``.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "results" / "parallel_umap_layout.csv"
SNAPSHOT_COMMIT = "24d8ed9"
COLUMNS = ("n_samples", "layout", "rounds", "order", "seed", "n_epochs", "seconds", "numba_threads", "gmm_acc", "gmm_nmi",
           "trustworthiness", "knn10_kept", "class_silhouette", "load_1min", "device", "commit", "command")


def proxy(n: int):
    """PCA-10 of ``n`` random MNIST training images, and their labels."""
    from sklearn.decomposition import PCA

    from deepclust.datasets import load_dataset

    ds = load_dataset("mnist", subset="train")
    rows = np.random.default_rng(0).permutation(ds.X.shape[0])[:n]
    return PCA(10, random_state=0).fit_transform(np.asarray(ds.X)[rows]).astype(np.float32), np.asarray(ds.y)[rows]


def graph_and_start(Z: np.ndarray, n_epochs: int):
    """The pruned fuzzy graph (CSR) and the scaled spectral start, as ParallelUMAP.fit makes them."""
    import scipy.sparse
    from sklearn.utils import check_random_state
    from umap.spectral import spectral_layout
    from umap.umap_ import fuzzy_simplicial_set, noisy_scale_coords

    from deepclust.methods.manifold import exact_knn

    rng = check_random_state(0)
    knn_i, knn_d = exact_knn(Z, None, 20)
    graph, _, _ = fuzzy_simplicial_set(Z, 20, rng, "euclidean", knn_indices=knn_i, knn_dists=knn_d)
    graph = scipy.sparse.coo_matrix(graph)
    graph.sum_duplicates()
    graph.data[graph.data < graph.data.max() / float(n_epochs)] = 0.0
    graph.eliminate_zeros()
    init = noisy_scale_coords(spectral_layout(Z, graph, 10, rng), rng, max_coord=10, noise=0.0001)
    return graph.tocsr(), 10.0 * (init - init.min(0)) / (init.max(0) - init.min(0))


def snapshot_layout():
    """``optimize_layout`` of ParallelUMAP's first layout, loaded from git history."""
    source = subprocess.run(["git", "show", f"{SNAPSHOT_COMMIT}:src/deepclust/methods/manifold/_layout.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.gettempdir()) / f"deepclust_layout_{SNAPSHOT_COMMIT}.py"
    path.write_text(source.replace("cache=True", "cache=False"))  # numba cannot reload a cache of this dynamic module
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.optimize_layout


def run_layout(name, csr, init, n_epochs, a, b, seed, rounds):
    if name == "umap":
        from umap.layouts import optimize_layout_euclidean
        from umap.umap_ import make_epochs_per_sample

        coo = csr.tocoo()
        Y = init.astype(np.float32)
        rng_state = np.random.RandomState(seed).randint(-(2**31) + 1, 2**31 - 1, 3).astype(np.int64)
        return optimize_layout_euclidean(Y, Y, coo.row, coo.col, n_epochs, csr.shape[0], make_epochs_per_sample(coo.data, n_epochs),
                                         a, b, rng_state, 1.0, 1.0, 5.0, parallel=False, move_other=True)
    if name == "snapshot":
        return snapshot_layout()(init, csr, n_epochs=n_epochs, a=a, b=b, seed=seed)
    from deepclust.methods.manifold._layout import optimize_layout

    return optimize_layout(init, csr, n_epochs=n_epochs, a=a, b=b, seed=seed, n_rounds=rounds)


def scores(Z, y, M, sample):
    from sklearn.manifold import trustworthiness
    from sklearn.metrics import silhouette_score
    from sklearn.mixture import GaussianMixture
    from sklearn.neighbors import NearestNeighbors

    from deepclust.metrics import evaluate

    s = evaluate(GaussianMixture(10, covariance_type="full", random_state=0).fit_predict(M), y_true=y)
    nn_z = NearestNeighbors(n_neighbors=11).fit(Z).kneighbors(Z, return_distance=False)[:, 1:]
    nn_m = NearestNeighbors(n_neighbors=11).fit(M).kneighbors(M, return_distance=False)[:, 1:]
    kept = (nn_z[:, :, None] == nn_m[:, None, :]).any(-1).mean()
    return {"gmm_acc": round(s["acc"], 4), "gmm_nmi": round(s["nmi"], 4),
            "trustworthiness": round(float(trustworthiness(Z[sample], M[sample], n_neighbors=10)), 4),
            "knn10_kept": round(float(kept), 4), "class_silhouette": round(float(silhouette_score(M[sample], y[sample])), 4)}


def main() -> None:
    import os

    import numba

    from deepclust.bench import append_rows
    from deepclust.bench._results import command_line, cpu_description, git_commit
    from deepclust.methods._umap_cache import import_umap

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--layouts", nargs="+", default=["parallel", "umap"], choices=["parallel", "umap", "snapshot"])
    p.add_argument("--rounds", type=int, default=None, help="parallel: rounds per epoch (default: the library's rule)")
    p.add_argument("--sorted", action="store_true", help="rows ordered by class (the layout's input order only)")
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args()
    import_umap()
    from umap.umap_ import find_ab_params

    from deepclust.methods.manifold._layout import rounds_per_epoch

    Z, y = proxy(a.n)
    if a.sorted:
        order = np.argsort(y, kind="stable")
        Z, y = Z[order], y[order]
    n_epochs = 500 if a.n <= 10000 else 200
    csr, init = graph_and_start(Z, n_epochs)
    ab = tuple(float(v) for v in find_ab_params(1.0, 0.0))
    sample = np.random.default_rng(0).permutation(a.n)[:5000]
    for name in a.layouts:  # compile (or load numba's cache) before timing
        run_layout(name, csr, init, 2, *ab, 0, a.rounds)
    for seed in a.seeds:
        for name in a.layouts:
            t0 = time.perf_counter()
            M = np.asarray(run_layout(name, csr, init, n_epochs, *ab, seed, a.rounds), dtype=np.float32)
            seconds = time.perf_counter() - t0
            rounds = (a.rounds or rounds_per_epoch(a.n)) if name == "parallel" else ""
            row = {"n_samples": a.n, "layout": name, "rounds": rounds, "order": "by class" if a.sorted else "random",
                   "seed": seed, "n_epochs": n_epochs, "seconds": round(seconds, 1), "numba_threads": numba.get_num_threads(),
                   **scores(Z, y, M, sample), "load_1min": round(os.getloadavg()[0], 1), "device": cpu_description(),
                   "commit": git_commit(), "command": command_line()}
            append_rows(a.out, [row], columns=COLUMNS)
            print(row, flush=True)


if __name__ == "__main__":
    main()

"""N2D's manifold step on saved autoencoder codes: ParallelUMAP against umap-learn's UMAP.

For each learner (both ``n_neighbors=20, min_dist=0, n_components=10``, the same seed): wall
time, the ACC/NMI of a full-covariance GMM fitted on its embedding (N2D's clusterer), and the
trustworthiness of the embedding (``sklearn.manifold.trustworthiness``, 10 neighbours) on a
fixed random subsample. The labels only score. Codes come from any autoencoder, saved as .npy:

    python benchmarks/manifold_quality.py --codes /tmp/mnist_codes.npy --labels /tmp/mnist_y.npy --name mnist

Rows are appended to ``benchmarks/results/manifold_quality.csv``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "results" / "manifold_quality.csv"
COLUMNS = ("dataset", "learner", "seed", "n_samples", "seconds", "gmm_acc", "gmm_nmi", "trustworthiness", "threads", "device", "commit", "command")


def main() -> None:
    import logging

    import torch
    from sklearn.manifold import trustworthiness
    from sklearn.mixture import GaussianMixture

    from deepclust.bench import append_rows
    from deepclust.bench._results import command_line, cpu_description, git_commit
    from deepclust.methods.manifold import build_manifold
    from deepclust.metrics import evaluate

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--codes", type=Path, required=True)
    p.add_argument("--labels", type=Path, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--learners", nargs="+", default=["parallel", "umap"], choices=["parallel", "umap"])
    p.add_argument("--trust-sample", type=int, default=5000)
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    Z, y = np.load(a.codes).astype(np.float32), np.load(a.labels)
    sub = np.random.default_rng(0).permutation(Z.shape[0])[: a.trust_sample]
    for name in a.learners:
        m = build_manifold(name, 10, a.seed, Z.shape[0])
        t0 = time.perf_counter()
        M = np.asarray(m.fit_transform(Z), dtype=np.float32)
        seconds = time.perf_counter() - t0
        labels = GaussianMixture(10, covariance_type="full", random_state=a.seed).fit_predict(M)
        s = evaluate(labels, y_true=y)
        tw = trustworthiness(Z[sub], M[sub], n_neighbors=10)
        row = {"dataset": a.name, "learner": name, "seed": a.seed, "n_samples": Z.shape[0], "seconds": round(seconds, 1),
               "gmm_acc": round(s["acc"], 4), "gmm_nmi": round(s["nmi"], 4), "trustworthiness": round(tw, 4),
               "threads": torch.get_num_threads(), "device": cpu_description(), "commit": git_commit(), "command": command_line()}
        append_rows(a.out, [row], columns=COLUMNS)
        print(row, flush=True)


if __name__ == "__main__":
    main()

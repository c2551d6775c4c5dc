"""N2D's manifold step on saved autoencoder codes: ParallelUMAP, umap-learn's UMAP, and umap-learn
fed by the exact neighbour search ("umap-exact").

For each learner (all ``n_neighbors=20, min_dist=0, n_components=10``, the same seed): wall
time, the ACC/NMI of N2D's mixture (full covariance, best of 10 starts) fitted on its
embedding, and the trustworthiness of the embedding (``sklearn.manifold.trustworthiness``, 10
neighbours) on a fixed random subsample. The labels only score. Codes come from any
autoencoder, saved as .npy, or are the first 10 principal components of a dataset (a cheap
stand-in with the codes' dimension):

    python benchmarks/manifold_quality.py --codes /tmp/mnist_codes.npy --labels /tmp/mnist_y.npy --name mnist
    python benchmarks/manifold_quality.py --pca10 usps --name usps-pca10 --learners umap umap-exact

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

    from deepclust.bench import append_rows
    from deepclust.bench._results import command_line, cpu_description, git_commit
    from deepclust.methods._clusterers import full_gmm
    from deepclust.methods.manifold import build_manifold
    from deepclust.metrics import evaluate

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--codes", type=Path, help="saved codes (.npy); or --pca10")
    p.add_argument("--labels", type=Path)
    p.add_argument("--pca10", metavar="DATASET", help="use the first 10 principal components of this dataset's features as the codes (deepclust name, e.g. usps, mnist-test)")
    p.add_argument("--name", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--learners", nargs="+", default=["parallel", "umap"], choices=["parallel", "umap", "umap-exact"])
    p.add_argument("--trust-sample", type=int, default=5000)
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if a.pca10:
        from sklearn.decomposition import PCA

        from deepclust.datasets import load_dataset

        data = load_dataset(a.pca10)
        Z, y = PCA(10, random_state=0).fit_transform(np.asarray(data.X, dtype=np.float32)).astype(np.float32), np.asarray(data.y)
    else:
        Z, y = np.load(a.codes).astype(np.float32), np.load(a.labels)
    sub = np.random.default_rng(0).permutation(Z.shape[0])[: a.trust_sample]
    for name in a.learners:
        m = build_manifold(name, 10, a.seed, Z.shape[0])
        t0 = time.perf_counter()
        M = np.asarray(m.fit_transform(Z), dtype=np.float32)
        seconds = time.perf_counter() - t0
        labels = full_gmm(10, a.seed).fit_predict(M)  # N2D's mixture
        s = evaluate(labels, y_true=y)
        tw = trustworthiness(Z[sub], M[sub], n_neighbors=10)
        row = {"dataset": a.name, "learner": name, "seed": a.seed, "n_samples": Z.shape[0], "seconds": round(seconds, 1),
               "gmm_acc": round(s["acc"], 4), "gmm_nmi": round(s["nmi"], 4), "trustworthiness": round(tw, 4),
               "threads": torch.get_num_threads(), "device": cpu_description(), "commit": git_commit(), "command": command_line()}
        append_rows(a.out, [row], columns=COLUMNS)
        print(row, flush=True)


if __name__ == "__main__":
    main()

"""k-means on 1,000,000 x 10 points: scikit-learn's KMeans and deepclust's FastKMeans, side by side.

The data are a synthetic mixture shaped like an autoencoder's 10-d codes: ten Gaussian
clusters of spread 4 around centres drawn in [-10, 10]^10, so that they overlap and Lloyd's
algorithm needs tens of iterations. Both estimators get the same n_init, max_iter and tol.
For each seed the two run one after the other in this process, on the same array; each row
records the fit's wall time, the inertia (recomputed for both in float64 from the final
centres and labels), and ACC/NMI/ARI against the generating labels. The FastKMeans row also
carries the ratios to the scikit-learn row of the same seed.

    python benchmarks/kmeans_1m.py --seeds 0-2 --out benchmarks/results/kmeans_1m.csv
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_limits

from deepclust.bench._results import COLUMNS, append_rows, command_line, device_description, git_commit, parse_seeds, peak_rss_mb
from deepclust.methods.kmeans_fast import FastKMeans
from deepclust.metrics import ari, cluster_accuracy, nmi

EXTRA = ("n_clusters", "inertia", "inertia_ratio", "time_ratio")


def inertia(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> float:
    total, chunk = 0.0, 1 << 16
    for s in range(0, X.shape[0], chunk):
        d = X[s : s + chunk] - centers[labels[s : s + chunk]]
        total += float(np.einsum("ij,ij->i", d, d).astype(np.float64).sum())
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--seeds", default="0-2")
    p.add_argument("--n-init", type=int, default=10)
    p.add_argument("--out", default="benchmarks/results/kmeans_1m.csv")
    args = p.parse_args()
    X, y = make_blobs(args.n, n_features=10, centers=args.k, cluster_std=4.0, center_box=(-10, 10), random_state=12345)
    X = X.astype(np.float32)
    common = {"dataset": f"blobs-{args.n // 1000}k-10d", "n_samples": args.n, "device": device_description("cpu"), "commit": git_commit(), "command": command_line()}
    for seed in parse_seeds(args.seeds):
        rows = []
        for method, est, threads in (
            ("sklearn-kmeans", KMeans(args.k, n_init=args.n_init, max_iter=300, tol=1e-4, random_state=seed), None),
            ("sklearn-kmeans-1thread", KMeans(args.k, n_init=args.n_init, max_iter=300, tol=1e-4, random_state=seed), 1),
            ("kmeans-fast", FastKMeans(args.k, n_init=args.n_init, max_iter=300, tol=1e-4, random_state=seed), None),
        ):
            with threadpool_limits(threads):
                t0 = time.perf_counter()
                est.fit(X)
                seconds = time.perf_counter() - t0
            labels = np.asarray(est.labels_)
            rows.append({
                **common,
                "method": method,
                "seed": seed,
                "acc": cluster_accuracy(y, labels),
                "nmi": nmi(y, labels),
                "ari": ari(y, labels),
                "seconds": round(seconds, 3),
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "n_clusters": args.k,
                "inertia": inertia(X, np.asarray(est.cluster_centers_, dtype=np.float32), labels),
            })
        base = rows[0]
        for r in rows:
            r["inertia_ratio"] = round(r["inertia"] / base["inertia"], 8)
            r["time_ratio"] = round(r["seconds"] / base["seconds"], 4)
            print(f"seed {seed} {r['method']:>15}: {r['seconds']:7.2f} s  inertia {r['inertia']:.6e}  (x{r['inertia_ratio']:.6f})  ACC {r['acc']:.4f}")
        append_rows(args.out, rows, COLUMNS + EXTRA)


if __name__ == "__main__":
    main()

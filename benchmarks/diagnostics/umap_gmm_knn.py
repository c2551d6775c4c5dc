"""UMAP + GMM on the raw features (the suite's `umap-gmm`): umap-learn's NN-descent vs the exact search.

For each dataset and seed, N2D's UMAP (``n_neighbors=20, min_dist=0``, k dims) with each
neighbour search ("umap": umap-learn's NN-descent; "umap-exact": ExactKnnUMAP), then the full
GMM with one start and with N2D's 10 restarts. Reports ACC (labels only score), the mixture's
mean log-likelihood (what the restarts maximise) and trustworthiness (10 NN, 3,000-row sample).
One JSON line per (dataset, seed, learner).

    DEEPCLUST_DATA=../shared/data OMP_NUM_THREADS=2 python benchmarks/diagnostics/umap_gmm_knn.py usps mnist-test --seeds 0 1
"""
import argparse
import json
import time
import warnings

import numpy as np
from sklearn.manifold import trustworthiness
from sklearn.mixture import GaussianMixture

from deepclust.datasets import load_dataset
from deepclust.methods._clusterers import full_gmm
from deepclust.methods.manifold import build_manifold
from deepclust.metrics import cluster_accuracy
from deepclust.runs.data import plan_preprocessing

warnings.filterwarnings("ignore", message=".*n_jobs value.*")
p = argparse.ArgumentParser()
p.add_argument("names", nargs="+")
p.add_argument("--seeds", type=int, nargs="+", default=[0])
p.add_argument("--out", default=None)
a = p.parse_args()
for name in a.names:
    data = load_dataset(name)
    X = np.asarray(plan_preprocessing(data, "auto", []).fit_transform(data), dtype=np.float32)
    y = np.asarray(data.y)
    k = len(np.unique(y))
    sub = np.random.default_rng(0).permutation(X.shape[0])[:3000]
    for seed in a.seeds:
        for learner in ("umap", "umap-exact"):
            t0 = time.perf_counter()
            M = build_manifold(learner, k, seed, X.shape[0], X.shape[1]).fit_transform(X)
            row = {"data": name, "seed": seed, "learner": learner, "umap_s": round(time.perf_counter() - t0, 1),
                   "trust": round(float(trustworthiness(X[sub], M[sub], n_neighbors=10)), 4)}
            for tag, gm in (("gmm1", GaussianMixture(k, covariance_type="full", random_state=seed)), ("gmm10", full_gmm(k, seed))):
                labels = gm.fit_predict(M)
                row[tag] = {"acc": round(float(cluster_accuracy(y, labels)), 4), "loglik": round(float(gm.score(M)), 4)}
            print(json.dumps(row), flush=True)
            if a.out:
                with open(a.out, "a") as f:
                    f.write(json.dumps(row) + "\n")

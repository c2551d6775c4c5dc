"""N2D's mixture on 70,000 points: 10 restarts on all rows vs on a 20,000-row sample.

UMAP (N2D's settings, seed 0) of the given 10-d codes, cached beside them, then for each
variant: wall seconds, the mean log-likelihood per sample on all rows (label-free: what the
restarts maximise) and ACC (labels only score). One JSON line per variant.

    OMP_NUM_THREADS=2 python benchmarks/diagnostics/gmm_restarts_70k.py CODES.npy LABELS.npy [--seeds 0 1 2]
"""
import argparse
import json
import os
import time

import numpy as np
from sklearn.mixture import GaussianMixture

from deepclust.methods._clusterers import SampledRestartsGMM
from deepclust.methods.manifold import build_manifold
from deepclust.metrics import cluster_accuracy

p = argparse.ArgumentParser()
p.add_argument("codes")
p.add_argument("labels")
p.add_argument("--seeds", type=int, nargs="+", default=[0])
p.add_argument("--out", default=None)
a = p.parse_args()
y = np.load(a.labels)
cache = a.codes.replace(".npy", "_umap10_s0.npy")
if os.path.exists(cache):
    M = np.load(cache)
else:
    Z = np.load(a.codes).astype(np.float32)
    t0 = time.perf_counter()
    M = build_manifold("umap", 10, 0, Z.shape[0], Z.shape[1]).fit_transform(Z)
    print(json.dumps({"umap_seconds": round(time.perf_counter() - t0, 1)}), flush=True)
    np.save(cache, M)
for seed in a.seeds:
    for name, gm in (("one start", GaussianMixture(10, covariance_type="full", random_state=seed)),
                     ("10 starts, all rows", GaussianMixture(10, covariance_type="full", n_init=10, random_state=seed)),
                     ("10 starts, 20k sample", SampledRestartsGMM(10, covariance_type="full", n_init=10, random_state=seed))):
        t0 = time.perf_counter()
        labels = gm.fit_predict(M)
        row = {"seed": seed, "gmm": name, "seconds": round(time.perf_counter() - t0, 2), "loglik_per_sample": round(float(gm.score(M)), 5),
               "acc": round(float(cluster_accuracy(y, labels)), 4), "n_iter": int(gm.n_iter_)}
        print(json.dumps(row), flush=True)
        if a.out:
            with open(a.out, "a") as f:
                f.write(json.dumps(row) + "\n")

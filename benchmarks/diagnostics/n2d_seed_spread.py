"""N2D with CLI defaults over seeds: how much of the spread is the mixture's start (one JSON line a seed).

For each seed, fits ``build_method("n2d", k, seed)`` as a bench cell does (defaults: step
budget, width rule; seeds drawn from the method's stream), then refits the Gaussian mixture on
the same UMAP coordinates with ``n_init=10`` (the restart with the highest likelihood wins:
label-free) and reports the ACC of both, the mixture's mean log-likelihood per sample, and the
smallest cluster's share. The same for ``umap-gmm`` (UMAP on the features, no autoencoder) with
the same seed, so that a gap between the two can be put on the codes or on the mixture's start.
Labels only score.

    DEEPCLUST_DATA=../shared/data OMP_NUM_THREADS=2 python benchmarks/diagnostics/n2d_seed_spread.py digits 0 1 2
    DEEPCLUST_DATA=../shared/data OMP_NUM_THREADS=2 python benchmarks/diagnostics/n2d_seed_spread.py exposome:exposures 0 1 2
"""
import json
import sys
import time

import numpy as np
from sklearn.mixture import GaussianMixture

from deepclust.datasets import load_dataset
from deepclust.methods import build_method
from deepclust.metrics import evaluate
from deepclust.runs.data import plan_preprocessing

# "NAME" or "NAME:TABLE" (e.g. exposome:exposures, the suite's exposures row)
name, seeds = sys.argv[1], [int(s) for s in sys.argv[2:]] or [0]
name, _, table = name.partition(":")
data = load_dataset(name, **({"table": table} if table else {}))
X = plan_preprocessing(data, "auto", []).fit_transform(data)
k = len(np.unique(data.y))
methods = ("n2d", "umap-gmm")
for seed in seeds:
    for method in methods:
        t0 = time.time()
        m = build_method(method, k, seed, image_shape=data.image_shape).fit(X)
        M = m.embedding_train_
        row = {"data": name, "method": method, "seed": seed, "seconds": round(time.time() - t0, 1),
               "steps": getattr(m.embedding_, "training_", {}).get("steps")}
        for n_init in (1, 10):
            gm = GaussianMixture(k, covariance_type="full", n_init=n_init, random_state=seed).fit(M)
            labels = gm.predict(M)
            row[f"acc_ninit{n_init}"] = round(evaluate(labels, y_true=data.y)["acc"], 4)
            row[f"loglik_ninit{n_init}"] = round(float(gm.score(M)), 3)
            row[f"min_share_ninit{n_init}"] = round(float(np.bincount(labels, minlength=k).min() / len(labels)), 4)
        row["acc_default"] = round(evaluate(m.labels_, y_true=data.y)["acc"], 4)
        print(json.dumps(row), flush=True)

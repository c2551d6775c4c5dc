"""VaDE's start against its end, per seed, on the suite's small datasets (issue 15 item 4).

The suite's VaDE rows on digits and exposures swing by seed (seed 1: 0.719 and 0.788, seeds 0
and 2 near their GMM-family neighbours) and the bench cell does not record VaDE's start. This
runs ``VaDE`` with the CLI defaults (the bench cell's build, preprocessing and seed) and keeps
what the prior was initialised from: the diagonal GMM's labels on the pretrained codes (one
start, today's init) and its log-likelihood, beside the best of 10 starts on the same codes
(an ACC-free choice). Labels only score. One JSON line per (dataset, seed):

    DEEPCLUST_DATA=../shared/data python benchmarks/diagnostics/vade_start.py digits exposome:exposures --seeds 0 1 2 \
        --out benchmarks/results/vade_start.jsonl

``--n-init N`` makes the prior start from the best likelihood of N diagonal-GMM starts instead
of VaDE's own count (a candidate default, to be judged on held-out data: ``sk:iris``,
``sk:wine``, ``sk:breast_cancer`` (scikit-learn's bundled tables) and ``mnist-train:N``, the
first N images of MNIST's training split, kept as images).
"""
import argparse
import copy
import json
import time

import numpy as np
from sklearn.mixture import GaussianMixture

from deepclust.bench._results import cpu_description, git_commit
from deepclust.heads.gmm_prior import GMMPrior
from deepclust.methods import build_method
from deepclust.metrics import cluster_accuracy
from heldout import prepared  # the script's folder is on sys.path

p = argparse.ArgumentParser()
p.add_argument("names", nargs="+", help="registered dataset, or exposome:TABLE")
p.add_argument("--seeds", type=int, nargs="+", default=[0])
p.add_argument("--n-init", type=int, default=None, help="diagonal-GMM starts of the prior (default: VaDE's own)")
p.add_argument("--out", default=None)
a = p.parse_args()


captured = {}
_init = GMMPrior.init_from_embedding


def _spy(self, z, rng, n_init=1):  # the codes, labels and likelihood VaDE's prior starts from
    n_init = a.n_init or n_init
    seed = int(copy.deepcopy(rng).integers(0, 2**31 - 1))  # the draw init_from_embedding makes
    labels = _init(self, z, rng, n_init)
    captured["z"] = z.detach().float().cpu().numpy().astype(np.float64)
    captured["labels"] = labels.cpu().numpy()
    captured["loglik"] = GaussianMixture(self.n_clusters, covariance_type="diag", n_init=n_init, random_state=seed).fit(captured["z"]).score(captured["z"])
    captured["n_init"] = n_init
    return labels


GMMPrior.init_from_embedding = _spy
for name in a.names:
    data, X, y, k = prepared(name)
    for seed in a.seeds:
        est = build_method("vade", k, seed, image_shape=data.image_shape)
        t0 = time.perf_counter()
        est.fit(X)
        seconds = time.perf_counter() - t0
        Z, start = captured["z"], captured["labels"]
        one = GaussianMixture(k, covariance_type="diag", n_init=1, random_state=0).fit(Z)
        ten = GaussianMixture(k, covariance_type="diag", n_init=10, random_state=0).fit(Z)
        h = est.history_
        row = {
            "data": name, "seed": seed, "n": int(X.shape[0]), "commit": git_commit(), "machine": cpu_description(),
            "seconds": round(seconds, 1), "epochs": len(h["loss"]),
            "n_init": captured["n_init"], "start_loglik": round(float(captured["loglik"]), 3),
            "acc_start": round(float(cluster_accuracy(y, start)), 4),
            "acc_end": round(float(cluster_accuracy(y, est.labels_)), 4),
            "start_min_size": int(np.bincount(start, minlength=k).min()),
            "end_min_size": int(np.bincount(est.labels_, minlength=k).min()),
            "labels_moved": round(float(np.mean(start != est.labels_)), 4),  # raw ids: the prior keeps its components' order
            "pi_min": [round(float(h["pi_min"][0]), 4), round(float(h["pi_min"][-1]), 4)],
            "loss": [round(float(h["loss"][0]), 3), round(float(h["loss"][-1]), 3)],
            "gmm1_loglik": round(float(one.score(Z)), 3), "gmm1_acc": round(float(cluster_accuracy(y, one.predict(Z))), 4),
            "gmm10_loglik": round(float(ten.score(Z)), 3), "gmm10_acc": round(float(cluster_accuracy(y, ten.predict(Z))), 4),
        }
        print(json.dumps(row), flush=True)
        if a.out:
            with open(a.out, "a") as f:
                f.write(json.dumps(row) + "\n")

"""DCN's start against its end for several ``lambd``, on held-out data (issue 15 item 5).

The full suite's DCN rows on USPS end far below their own k-means start (seed 0: 0.682 -> 0.509,
`results/suite_training.csv`), the symptom of a k-means term that outweighs the reconstruction:
a k-means loss on unbounded codes falls when the codes shrink onto their centroids, whatever the
clusters are. The reference (boyangumn/DCN, `run_raw_mnist.py`) weights the terms as
``||z - c||^2 + 0.05 * BCE summed over 784 pixels`` per sample; divided by 0.05 * 784 that is
``BCE per pixel + 0.026 * ||z - c||^2``, i.e. ``lambd`` ~ 0.05 in our scaling (reconstruction
per entry + lambd / 2 * squared distance), 20x below our default of 1.

For each (data, seed) one autoencoder is pretrained as DCN's own fit would (the bench's shared
pretraining, cached under ``--cache``), then DCN's clustering phase runs from it once per
``lambd``. Recorded per run: ACC of the k-means start and of the end (labels only score), the
codes' spread at the start and the end (mean squared distance to their mean: the scale a
k-means loss can shrink), the last epoch's terms and the smallest cluster. Data no suite row is
made of (``heldout.py``): ``mnist-train:N``, ``sk:wine``, ``sk:breast_cancer``, ``sk:iris``.

    DEEPCLUST_DATA=../shared/data python benchmarks/diagnostics/dcn_lambda.py mnist-train:3000 sk:wine \
        --seeds 0 1 --lambd 1 0.1 0.05 0.01 --out benchmarks/results/dcn_lambda.jsonl
"""
import argparse
import json
import time

import numpy as np

from deepclust.bench._results import cpu_description, git_commit
from deepclust.bench.cell import shared_pretraining
from deepclust.methods import build_method, load_model
from deepclust.metrics import cluster_accuracy
from heldout import prepared  # the script's folder is on sys.path

p = argparse.ArgumentParser()
p.add_argument("names", nargs="+")
p.add_argument("--seeds", type=int, nargs="+", default=[0])
p.add_argument("--lambd", type=float, nargs="+", default=[1.0, 0.1, 0.05, 0.01])
p.add_argument("--cache", default="/tmp/dcn_lambda_pretrained")
p.add_argument("--term", choices=["paper", "spread"], default="spread",
               help="k-means term: DCN(normalize=False), the paper's mean squared distance, or DCN's default "
                    "normalize=True, that divided by the batch codes' spread (scale-free: shrinking the codes does not lower it)")
p.add_argument("--out", default=None)
a = p.parse_args()


def spread(Z: np.ndarray) -> float:
    return float(((Z - Z.mean(0)) ** 2).sum(1).mean())


for name in a.names:
    data, X, y, k = prepared(name)
    for seed in a.seeds:
        path = None
        for lambd in a.lambd:
            est = build_method("dcn", k, seed, image_shape=data.image_shape, lambd=lambd, normalize=a.term == "spread")
            if path is None:  # one pretraining per (data, seed): every lambd starts from it
                path, pre_seconds = shared_pretraining(est, X, seed, a.cache, name.replace(":", "-"))
                Z0 = np.asarray(load_model(path).transform(X))  # the pretrained codes DCN starts from
            est.set_params(embedding=str(path))
            t0 = time.perf_counter()
            est.fit(X)
            seconds = time.perf_counter() - t0
            Z1 = np.asarray(est.transform(X))
            h = est.history_
            row = {
                "data": name, "seed": seed, "term": a.term, "lambd": lambd, "n": int(X.shape[0]), "commit": git_commit(),
                "machine": cpu_description(), "seconds": round(seconds, 1), "pretrain_seconds": round(pre_seconds, 1),
                "acc_start": round(float(cluster_accuracy(y, est.init_labels_)), 4),
                "acc_end": round(float(cluster_accuracy(y, est.labels_)), 4),
                "spread_start": round(spread(Z0), 4), "spread_end": round(spread(Z1), 4),
                "reconstruction": [round(float(h["reconstruction"][0]), 5), round(float(h["reconstruction"][-1]), 5)],
                "clustering": [round(float(h["clustering"][0]), 5), round(float(h["clustering"][-1]), 5)],
                "end_min_size": int(np.bincount(est.labels_, minlength=k).min()),
                "labels_moved": round(float(np.mean(est.init_labels_ != est.labels_)), 4),  # centroid ids are kept
            }
            print(json.dumps(row), flush=True)
            if a.out:
                with open(a.out, "a") as f:
                    f.write(json.dumps(row) + "\n")

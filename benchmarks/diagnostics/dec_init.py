"""DEC's and IDEC's start, on held-out data: k-means on the codes (the paper's) vs N2D's manifold partition.

For each seed, pretrains the autoencoder exactly as the suite's shared pretraining does
(``build_method("dec", k, seed)``'s own embedding, its first seed; IDEC's is the same), then
runs each method's clustering phase from that one network with ``init="kmeans"`` and
``init="manifold"``. Records each start's ACC (``init_labels_``), the ACC of the nearest-centre
labels of that start's centres (what the Student-t head predicts at step 0), the end ACC/NMI,
how many labels the phase moved, the steps, why it stopped, and the seconds. One JSON line per
(data, seed, method, init). Labels only score.

    DEEPCLUST_DATA=../shared/data python benchmarks/diagnostics/dec_init.py fashion-mnist --subset train --n 10000 --seeds 0 1 2 --out benchmarks/results/dec_init.jsonl
"""
import argparse
import json
import tempfile
import time

import numpy as np
import torch
from sklearn.base import clone

from deepclust.bench._results import git_commit
from deepclust.heads.student_t import squared_distances
from deepclust.methods import build_method
from deepclust.methods._base import draw_seed, seed_stream
from deepclust.metrics import cluster_accuracy, nmi
from heldout import add_slice_arguments, prepared_slice  # the script's folder is on sys.path

p = argparse.ArgumentParser()
add_slice_arguments(p)
p.add_argument("--seeds", type=int, nargs="+", default=[0])
p.add_argument("--methods", nargs="+", default=["dec", "idec"])
p.add_argument("--inits", nargs="+", default=["kmeans", "manifold"])
p.add_argument("--out", required=True)
a = p.parse_args()

data, X, y, k = prepared_slice(a.name, a.subset, a.n)
commit = git_commit()  # the tree this process imported


def nearest_centre_acc(Z: np.ndarray, labels: np.ndarray) -> float:
    """ACC of assigning each code to the nearest mean of the partition ``labels``."""
    means = np.stack([Z[labels == c].mean(axis=0) for c in range(k)])
    return float(cluster_accuracy(y, squared_distances(torch.from_numpy(Z), torch.from_numpy(means)).argmin(1).numpy()))


for seed in a.seeds:
    base = build_method("dec", k, seed, image_shape=data.image_shape)
    base._start_fit(X)
    emb = clone(base._embedding_to_fit()).set_params(random_state=draw_seed(seed_stream(seed)))
    t0 = time.perf_counter()
    emb.fit(X)
    pre = {"data": a.name, "subset": a.subset, "n": int(X.shape[0]), "seed": seed,
           "pretrain_steps": emb.training_.get("steps"), "pretrain_s": round(time.perf_counter() - t0, 1),
           "device": str(emb._device_of_model()), "commit": commit}
    Z = np.asarray(emb.transform(X), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        emb.save(f"{tmp}/emb", overwrite=True)
        for method in a.methods:
            for init in a.inits:
                model = build_method(method, k, seed, image_shape=data.image_shape).set_params(embedding=f"{tmp}/emb", init=init)
                t0 = time.perf_counter()
                model.fit(X)
                row = {**pre, "method": method, "init": init, "start_acc": float(cluster_accuracy(y, model.init_labels_)),
                       "start_nearest_centre_acc": nearest_centre_acc(Z, model.init_labels_),
                       "end_acc": float(cluster_accuracy(y, model.labels_)), "end_nmi": float(nmi(y, model.labels_)),
                       "moved": float(np.mean(model.init_labels_ != model.labels_)), "steps": int(model.n_iter_),
                       "stop": model.stop_reason_, "min_cluster_size": int(np.bincount(model.labels_, minlength=k).min()),
                       "seconds": round(time.perf_counter() - t0, 1)}
                print(json.dumps(row), flush=True)
                with open(a.out, "a") as f:
                    f.write(json.dumps(row) + "\n")

"""VaDE's start, on held-out data: the paper's diagonal GMM on the codes vs N2D's manifold partition.

For each seed, pretrains the autoencoder exactly as ``VaDE``'s own fit does (``build_method("vade",
k, seed)``'s embedding under VaDE's likelihood, its first seed), then runs the VaDE phase from
that one network with ``init="gmm"`` (today's default) and ``init="manifold"``, recording each
start's ACC (``init_labels_``), the end ACC, how many labels VaDE moved, and the seconds. One
JSON line per (data, seed, init). Labels only score.

    DEEPCLUST_DATA=../shared/data python benchmarks/diagnostics/vade_init.py fashion-mnist --subset train --n 10000 --seeds 0 1 2 --out benchmarks/results/vade_init.jsonl
    DEEPCLUST_DATA=../shared/data python benchmarks/diagnostics/vade_init.py exposome:serum --seeds 0 1 2 --out benchmarks/results/vade_init.jsonl
"""
import argparse
import json
import tempfile
import time

import numpy as np
from sklearn.base import clone

from deepclust.bench._results import git_commit
from deepclust.methods import build_method
from deepclust.methods._base import draw_seed, seed_stream
from deepclust.metrics import cluster_accuracy, nmi
from heldout import add_slice_arguments, prepared_slice  # the script's folder is on sys.path

p = argparse.ArgumentParser()
add_slice_arguments(p)
p.add_argument("--seeds", type=int, nargs="+", default=[0])
p.add_argument("--inits", nargs="+", default=["gmm", "manifold"])
p.add_argument("--out", required=True)
a = p.parse_args()

data, X, y, k = prepared_slice(a.name, a.subset, a.n)
commit = git_commit()  # the tree this process imported

for seed in a.seeds:
    vade = build_method("vade", k, seed, image_shape=data.image_shape)
    vade._start_fit(X)
    emb = clone(vade._embedding_to_fit()).set_params(random_state=draw_seed(seed_stream(seed)))
    t0 = time.perf_counter()
    emb.fit(X)
    pre = {"data": a.name, "subset": a.subset, "n": int(X.shape[0]), "seed": seed, "recon": vade.recon_,
           "pretrain_steps": emb.training_.get("steps"), "pretrain_s": round(time.perf_counter() - t0, 1), "commit": commit}
    with tempfile.TemporaryDirectory() as tmp:
        emb.save(f"{tmp}/emb", overwrite=True)
        for init in a.inits:
            model = clone(vade).set_params(embedding=f"{tmp}/emb", init=init)
            t0 = time.perf_counter()
            model.fit(X)
            row = {**pre, "init": init, "start_acc": float(cluster_accuracy(y, model.init_labels_)),
                   "end_acc": float(cluster_accuracy(y, model.labels_)), "end_nmi": float(nmi(y, model.labels_)),
                   "moved": float(np.mean(model.init_labels_ != model.labels_)), "vade_steps": int(model.n_iter_),
                   "min_cluster_size": int(np.bincount(model.labels_, minlength=k).min()),
                   "final_loss": float(model.history_["loss"][-1]), "vade_s": round(time.perf_counter() - t0, 1)}
            print(json.dumps(row), flush=True)
            with open(a.out, "a") as f:
                f.write(json.dumps(row) + "\n")

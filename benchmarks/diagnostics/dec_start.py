"""Where DEC's accuracy is decided: the pretrained codes (its k-means start) or the KL phase.

For each seed, pretrains the autoencoder exactly as the suite's shared pretraining does
(``build_method("dec", k, seed)``'s own embedding, its first seed), then on those codes:
k-means with 20 restarts (DEC's start), DEC with its defaults warm-started from that network
(ACC, optimiser steps, why it stopped), and DEC with ``tol=0`` (all ``max_iter`` steps), so a
miss can be put on the codes or on the clustering phase. ``--steps S`` repeats the pretraining
with S optimiser steps instead of the default budget. One JSON line per (seed, pretraining).
Labels only score.

    DEEPCLUST_DATA=../shared/data python benchmarks/diagnostics/dec_start.py mnist-test --seeds 0 1 --out dec_start.jsonl
    DEEPCLUST_DATA=../shared/data python benchmarks/diagnostics/dec_start.py mnist-test --seeds 0 --steps 33000 --out dec_start.jsonl
"""
import argparse
import json
import tempfile
import time

import numpy as np
from sklearn.base import clone
from sklearn.cluster import KMeans

from deepclust.datasets import load_dataset
from deepclust.methods import build_method
from deepclust.methods._base import draw_seed, seed_stream
from deepclust.metrics import cluster_accuracy
from deepclust.runs.data import plan_preprocessing

p = argparse.ArgumentParser()
p.add_argument("name", help="dataset, NAME or NAME:TABLE")
p.add_argument("--seeds", type=int, nargs="+", default=[0])
p.add_argument("--steps", type=int, default=None, help="pretraining steps (default: the library's budget)")
p.add_argument("--no-tol0", action="store_true", help="skip the tol=0 run")
p.add_argument("--out", required=True)
a = p.parse_args()

name, _, table = a.name.partition(":")
data = load_dataset(name, **({"table": table} if table else {}))
X = plan_preprocessing(data, "auto", []).fit_transform(data)
y = np.asarray(data.y)
k = len(np.unique(y))

for seed in a.seeds:
    dec = build_method("dec", k, seed, image_shape=data.image_shape)
    dec._start_fit(X)
    emb = clone(dec._embedding_to_fit()).set_params(random_state=draw_seed(seed_stream(seed)))
    if a.steps is not None:
        emb.set_params(steps=a.steps, epochs=None)
    t0 = time.perf_counter()
    emb.fit(X)
    row = {"data": a.name, "seed": seed, "pretrain_steps": emb.training_.get("steps"), "pretrain_s": round(time.perf_counter() - t0, 1),
           "pretrain_final_loss": float(emb.history_["loss"][-1]), "device": str(emb._device_of_model())}
    Z = emb.transform(X)
    km = KMeans(k, n_init=20, random_state=seed).fit(Z)
    row["kmeans20_on_codes"] = float(cluster_accuracy(y, km.labels_))
    with tempfile.TemporaryDirectory() as tmp:
        emb.save(f"{tmp}/emb", overwrite=True)
        for tag, extra in (("dec", {}), ("dec_tol0", {"tol": 0.0})):
            if tag == "dec_tol0" and a.no_tol0:
                continue
            t0 = time.perf_counter()
            m = clone(dec).set_params(embedding=f"{tmp}/emb", **extra).fit(X)
            sizes = np.bincount(m.labels_, minlength=k)
            row[tag] = {"acc": float(cluster_accuracy(y, m.labels_)), "n_iter": int(m.n_iter_), "stop": m.stop_reason_,
                        "seconds": round(time.perf_counter() - t0, 1), "min_size": int(sizes.min()),
                        "delta_label_first": [round(float(v), 4) for v in m.history_.get("delta_label", [])[:5]]}
    print(json.dumps(row), flush=True)
    with open(a.out, "a") as f:
        f.write(json.dumps(row) + "\n")

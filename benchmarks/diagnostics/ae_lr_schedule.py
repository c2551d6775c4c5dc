"""Does a decaying learning rate reach the autoencoder's loss in fewer steps? (issue 16 item 2)

N2D's pretraining is Adam at a constant 1e-3 for the step budget's 11,000 steps; the ~11,000
steps are most of N2D's time on a CPU. This trains the suite's default autoencoder (exactly the
embedding ``build_method("n2d", k, seed)`` fits) under a schedule set per optimiser step, then
records the final reconstruction error on all rows, the last epoch's training loss, the
seconds, and N2D's ACC/NMI from those codes (its default manifold step and mixture). A
variant is ``KIND:STEPS[:LR[:WARMUP]]`` with KIND ``constant``, ``cosine`` (to 0 at STEPS) or
``linear`` (to 0), WARMUP steps of linear warm-up. Labels only score; choose on held-out data.

    DEEPCLUST_DATA=../shared/data python benchmarks/diagnostics/ae_lr_schedule.py fashion-mnist --subset train --n 10000 \
        --seeds 0 --variants constant:11000 cosine:5500 cosine:11000 constant:5500:2e-3 cosine:5500:3e-3:300 \
        --out benchmarks/results/ae_lr_schedule.jsonl
"""
import argparse
import json
import math
import time

import numpy as np
from sklearn.base import clone

import deepclust.methods._neural as neural
from deepclust.bench._results import device_description, git_commit
from deepclust.methods import build_method
from deepclust.methods._base import draw_seed, seed_stream
from deepclust.methods.n2d import manifold_partition
from deepclust.metrics import cluster_accuracy, nmi
from deepclust.train.loop import Callback
from heldout import add_slice_arguments, prepared_slice  # the script's folder is on sys.path

p = argparse.ArgumentParser()
add_slice_arguments(p)
p.add_argument("--seeds", type=int, nargs="+", default=[0])
p.add_argument("--variants", nargs="+", default=["constant:11000", "cosine:5500", "cosine:11000"])
p.add_argument("--out", required=True)
a = p.parse_args()

data, X, y, k = prepared_slice(a.name, a.subset, a.n)
commit = git_commit()


class Schedule(Callback):
    """Sets every parameter group's lr before each optimiser step."""

    def __init__(self, kind: str, total: int, lr: float, warmup: int = 0) -> None:
        self.kind, self.total, self.lr, self.warmup = kind, total, lr, warmup

    def on_batch_begin(self, state) -> None:
        t = min(state.step, self.total) / self.total
        f = {"constant": 1.0, "cosine": 0.5 * (1 + math.cos(math.pi * t)), "linear": 1.0 - t}[self.kind]
        if self.warmup and state.step < self.warmup:
            f = min(f, (state.step + 1) / self.warmup)
        for group in state.optimizer.param_groups:
            group["lr"] = self.lr * f


_fit_module, _current = neural.fit_module, {}


def fit_with_schedule(*args, callbacks=(), **kw):
    """The embedding's own fit_module call, with the variant's schedule appended."""
    return _fit_module(*args, callbacks=[*callbacks, Schedule(**_current)], **kw)


neural.fit_module = fit_with_schedule  # only this process; the library is untouched

for seed in a.seeds:
    for variant in a.variants:
        kind, steps, *rest = variant.split(":")
        lr = float(rest[0]) if rest else 1e-3
        _current.update(kind=kind, total=int(steps), lr=lr, warmup=int(rest[1]) if len(rest) > 1 else 0)
        base = build_method("n2d", k, seed, image_shape=data.image_shape)
        base._start_fit(X)
        emb = clone(base._embedding_to_fit()).set_params(random_state=draw_seed(seed_stream(seed)), steps=int(steps))
        t0 = time.perf_counter()
        emb.fit(X)
        seconds = time.perf_counter() - t0
        Z = np.asarray(emb.transform(X), dtype=np.float32)
        full_mse = float(np.mean((np.asarray(emb.inverse_transform(Z), dtype=np.float32) - X) ** 2))
        t0 = time.perf_counter()
        labels = manifold_partition(Z, k, seed)
        row = {"data": a.name, "subset": a.subset, "n": int(X.shape[0]), "seed": seed, "variant": variant,
               "steps": emb.training_.get("steps"), "last_epoch_loss": emb.history_["loss"][-1], "full_mse": full_mse,
               "pretrain_s": round(seconds, 1), "acc": float(cluster_accuracy(y, labels)), "nmi": float(nmi(y, labels)),
               "manifold_s": round(time.perf_counter() - t0, 1), "device": device_description(str(emb._device_of_model())),
               "commit": commit}
        print(json.dumps(row), flush=True)
        with open(a.out, "a") as f:
            f.write(json.dumps(row) + "\n")

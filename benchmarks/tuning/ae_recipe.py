"""Tuning probe: how good are the autoencoder's codes after E epochs at a given batch size / lr?

Trains the d-500-500-2000-10 autoencoder (the same module, initialisation, loss and optimiser as
AutoencoderEmbedding) and, at chosen epochs, scores k-means (and optionally UMAP + GMM, i.e.
N2D) on the codes against the labels. For choosing benchmark settings only; it is not a
benchmark (it uses the labels to compare settings).

    python benchmarks/tuning/ae_recipe.py --dataset mnist --batch-size 1024 --lr 2e-3 \
        --epochs 60 --eval 20,40,60 --umap-at 40,60 --out benchmarks/tuning/ae_recipe.csv
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from deepclust.bench import append_rows
from deepclust.bench._results import command_line, git_commit
from deepclust.datasets import load_dataset
from deepclust.losses import reconstruction_mse
from deepclust.methods._base import resolve_precision, to_tensor
from deepclust.methods._deep import encode_all
from deepclust.metrics import evaluate
from deepclust.nn import glorot_uniform_, mlp_autoencoder
from deepclust.train import Callback, adam, fit_module

COLUMNS = ("dataset", "batch_size", "lr", "precision", "seed", "epoch", "loss", "train_seconds", "kmeans_acc", "kmeans_nmi", "n2d_acc", "n2d_nmi", "commit", "command")


class Probe(Callback):
    def __init__(self, X, y, eval_at, umap_at, row):
        self.X, self.y, self.eval_at, self.umap_at, self.row = X, y, eval_at, umap_at, row
        self.train_seconds = 0.0

    def on_epoch_end(self, state):
        self.train_seconds += state.logs["seconds"]
        e = state.epoch + 1
        if e not in self.eval_at:
            return
        from sklearn.cluster import KMeans

        Z = encode_all(state.module, self.X).numpy()
        km = KMeans(10, n_init=10, random_state=0).fit_predict(Z)
        m = evaluate(km, y_true=self.y)
        out = {**self.row, "epoch": e, "loss": state.logs["loss"], "train_seconds": round(self.train_seconds, 1),
               "kmeans_acc": m["acc"], "kmeans_nmi": m["nmi"], "n2d_acc": "", "n2d_nmi": ""}
        if e in self.umap_at:
            from deepclust.methods.n2d import _fit_manifold, default_umap
            from sklearn.mixture import GaussianMixture

            M = _fit_manifold(default_umap(10, 0), Z)
            lab = GaussianMixture(10, covariance_type="full", random_state=0).fit_predict(M)
            m2 = evaluate(lab, y_true=self.y)
            out.update(n2d_acc=m2["acc"], n2d_nmi=m2["nmi"])
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items() if k not in ("command", "commit")}, flush=True)
        append_rows(self.row["_out"], [{k: out[k] for k in COLUMNS}], columns=COLUMNS)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--eval", default="10,20,30,40,50")
    p.add_argument("--umap-at", default="")
    p.add_argument("--precision", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/tuning/ae_recipe.csv")
    a = p.parse_args()
    data = load_dataset(a.dataset)
    X = to_tensor(data.X, torch.device("cpu"))
    ev = {int(x) for x in a.eval.split(",") if x}
    um = {int(x) for x in a.umap_at.split(",") if x}
    row = {"dataset": a.dataset, "batch_size": a.batch_size, "lr": a.lr, "precision": a.precision, "seed": a.seed,
           "commit": git_commit(), "command": command_line(), "_out": a.out}
    gen = torch.Generator().manual_seed(a.seed)
    ae = glorot_uniform_(mlp_autoencoder(X.shape[1]), generator=gen)
    fit_module(ae, lambda m, b, s: reconstruction_mse(m(b[0]), b[0]), (X,), epochs=a.epochs, batch_size=a.batch_size,
               optimizer=adam(ae.parameters(), lr=a.lr), generator=gen, callbacks=[Probe(X, data.y, ev, um, row)],
               autocast_dtype=resolve_precision(a.precision, torch.device("cpu")))


if __name__ == "__main__":
    main()

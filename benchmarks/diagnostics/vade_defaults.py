"""VaDE with its defaults (issue 15 item 4) on MNIST-test: ACC of the GMM initialisation vs after VaDE.

Labels only score: the fit never sees them. A subclass records the GMM initialisation's labels
and scores the labels at the posterior means after every epoch, next to the ACC-free
diagnostics that ``VaDE.history_`` logs. Writes a JSON of the result to ``--out``.

    cd /work/wt-vade2 && PYTHONPATH=$PWD/src OMP_NUM_THREADS=1 /work/main/.venv/bin/python \
        benchmarks/diagnostics/vade_defaults.py --ae-epochs 30 --epochs 20 --seed 0
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time

import numpy as np
import torch

from deepclust.datasets import load_dataset
from deepclust.methods import AutoencoderEmbedding, VaDE
from deepclust.methods.vade import VaDEDiagnostics
from deepclust.metrics import cluster_accuracy


class ScoredDiagnostics(VaDEDiagnostics):
    """VaDE's own diagnostics, plus the ACC of each epoch's labels (for this report only)."""

    def __init__(self, *args, y: np.ndarray, scores: list, **kw) -> None:
        super().__init__(*args, **kw)
        self.y, self.scores = y, scores

    def on_epoch_end(self, state) -> None:
        super().on_epoch_end(state)
        self.scores.append(cluster_accuracy(self.y, self.previous.cpu().numpy()))


class ScoredVaDE(VaDE):
    def _build_module(self, emb, Z, k, head_seed, device):
        module, labels = super()._build_module(emb, Z, k, head_seed, device)
        self.init_acc_ = cluster_accuracy(self._y, labels.cpu().numpy())
        return module, labels

    def _clustering_phase(self, module, X, init_labels, autocast_dtype=None):
        phase = super()._clustering_phase(module, X, init_labels, autocast_dtype)
        self.epoch_acc_ = []
        decay, diag = phase.callbacks
        phase.callbacks = [decay, ScoredDiagnostics(diag.X, diag.model, diag.monitor, init_labels, y=self._y, scores=self.epoch_acc_)]
        return phase


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--ae-epochs", type=int, default=30)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/results/vade_defaults_mnist-test.json")
    a = p.parse_args()
    torch.set_num_threads(1)
    data = load_dataset("mnist-test")
    X, y = data.X.astype(np.float32), np.asarray(data.y)
    emb = AutoencoderEmbedding(epochs=a.ae_epochs, precision="float32", device="cpu")
    model = ScoredVaDE(10, embedding=emb, epochs=a.epochs, random_state=a.seed)
    model._y = y
    t0 = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - t0
    h = model.history_
    keys = ["loss", "reconstruction", "kl", "lr", "posterior_logvar", "prior_logvar", "pi_min", "label_change", "min_cluster_size", "n_empty_clusters", "seconds"]
    result = {
        "dataset": "mnist-test", "seed": a.seed, "ae_epochs": a.ae_epochs, "epochs": a.epochs,
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
        "X_range": [float(X.min()), float(X.max())],
        "pretrain_loss_first_last": [h["pretrain_loss"][0], h["pretrain_loss"][-1]],
        "acc_gmm_init": model.init_acc_, "acc_final_predict": cluster_accuracy(y, model.predict(X)),
        "epoch_acc": model.epoch_acc_, "per_epoch": {k: h[k] for k in keys}, "seconds": seconds,
    }
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"GMM init ACC {result['acc_gmm_init']:.4f}  after VaDE (predict) {result['acc_final_predict']:.4f}  {seconds:.0f} s")
    print("ep  ACC    loss    rec     kl     lr      post_lv prior_lv pi_min  changed min_size")
    for e in range(len(model.epoch_acc_)):
        r = {k: h[k][e] for k in keys}
        print(f"{e:2d} {model.epoch_acc_[e]:.4f} {r['loss']:7.2f} {r['reconstruction']:7.2f} {r['kl']:6.2f} {r['lr']:.1e} "
              f"{r['posterior_logvar']:7.3f} {r['prior_logvar']:7.3f} {r['pi_min']:.4f} {r['label_change']:.4f} {r['min_cluster_size']}")


if __name__ == "__main__":
    main()

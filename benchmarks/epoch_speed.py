"""Autoencoder pretraining speed (issue 6): one epoch of d-500-500-2000-10 on MNIST-70k.

Measured side by side in ONE process on one machine: ClustPy's own pretraining loop
(``FeedforwardAutoencoder.fit``, float32, batch 256), and deepclust's ``AutoencoderEmbedding``
in float32 and in bf16 autocast (``precision="auto"`` on this CPU), at batch 256 and 1024. Each
variant trains ``--epochs`` epochs; the median epoch time after the first (warm-up) epoch is
reported, with the ratio to ClustPy. ``--quality-epochs N`` additionally trains deepclust's
float32 and bf16 autoencoders for N epochs with the same seed and compares their final
reconstruction loss and the ACC of k-means and of N2D (UMAP + GMM) on their codes: bf16 must
match float32.

Run in the environment that has both libraries (see benchmarks/clustpy_compare.py):

    DEEPCLUST_DATA=../shared/data benchmarks/_work/venv-clustpy/bin/python benchmarks/epoch_speed.py --epochs 4 --quality-epochs 50

Rows go to ``benchmarks/results/epoch_speed.csv``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

COLUMNS = (
    "dataset", "library", "precision", "batch_size", "epochs", "seed", "n_samples", "median_epoch_seconds", "speedup_vs_clustpy",
    "final_loss", "kmeans_acc", "n2d_acc", "n2d_nmi", "peak_rss_mb", "device", "commit", "command",
)
OUT = Path(__file__).parent / "results" / "epoch_speed.csv"


def clustpy_epochs(X: np.ndarray, epochs: int, batch_size: int, seed: int) -> list[float]:
    """Per-epoch wall times of ClustPy's loop (timed from its tqdm bar's updates)."""
    import torch
    from clustpy.deep.neural_networks import FeedforwardAutoencoder

    times = []
    for _ in range(epochs):  # one fit() per epoch: ClustPy's loop exposes no per-epoch hook
        ae = FeedforwardAutoencoder(layers=[X.shape[1], 500, 500, 2000, 10], random_state=seed) if not times else ae
        t0 = time.perf_counter()
        ae.fit(n_epochs=1, batch_size=batch_size, data=torch.from_numpy(X), optimizer_params={"lr": 1e-3})
        times.append(time.perf_counter() - t0)
    return times


def deepclust_embedding(X: np.ndarray, epochs: int, batch_size: int, precision: str, seed: int):
    from deepclust.methods import AutoencoderEmbedding

    return AutoencoderEmbedding(epochs=epochs, batch_size=batch_size, precision=precision, device="cpu", random_state=seed).fit(X)


def main() -> None:
    from deepclust.bench import append_rows
    from deepclust.bench._results import command_line, device_description, git_commit, peak_rss_mb
    from deepclust.datasets import load_dataset
    from deepclust.methods._base import resolve_precision

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=4, help="epochs per speed variant (the first is warm-up)")
    p.add_argument("--quality-epochs", type=int, default=0, help="also compare float32 and bf16 after this many epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--no-clustpy", action="store_true", help="skip ClustPy (when it is not installed)")
    a = p.parse_args()
    import torch

    data = load_dataset("mnist")
    X = data.X.astype(np.float32)
    bf16 = "bf16" if resolve_precision("auto", torch.device("cpu")) is not None else "float32"
    base = {"dataset": "mnist", "seed": a.seed, "n_samples": X.shape[0], "device": device_description("cpu"), "commit": git_commit(), "command": command_line()}
    rows = []
    ref = None
    if not a.no_clustpy:
        t = clustpy_epochs(X, a.epochs, 256, a.seed)
        ref = statistics.median(t[1:] or t)
        rows.append({**base, "library": "clustpy", "precision": "float32", "batch_size": 256, "epochs": a.epochs, "median_epoch_seconds": round(ref, 3), "speedup_vs_clustpy": 1.0})
        print(f"clustpy float32 b256: {ref:.2f} s/epoch ({[round(x, 2) for x in t]})", flush=True)
    for precision, bs in (("float32", 256), (bf16, 256), (bf16, 1024)):
        emb = deepclust_embedding(X, a.epochs, bs, precision, a.seed)
        t = emb.history_["seconds"]
        med = statistics.median(t[1:] or t)
        rows.append({**base, "library": "deepclust", "precision": precision, "batch_size": bs, "epochs": a.epochs, "median_epoch_seconds": round(med, 3),
                     "speedup_vs_clustpy": round(ref / med, 2) if ref else ""})
        print(f"deepclust {precision} b{bs}: {med:.2f} s/epoch ({[round(x, 2) for x in t]})" + (f", {ref / med:.2f}x ClustPy" if ref else ""), flush=True)
    if a.quality_epochs:
        from sklearn.cluster import KMeans
        from sklearn.mixture import GaussianMixture

        from deepclust.methods.n2d import _fit_manifold, default_umap
        from deepclust.metrics import evaluate

        for precision in ("float32", bf16):
            emb = deepclust_embedding(X, a.quality_epochs, 256, precision, a.seed)
            Z = emb.transform(X)
            km = evaluate(KMeans(10, n_init=10, random_state=a.seed).fit_predict(Z), y_true=data.y)
            M = _fit_manifold(default_umap(10, a.seed), Z)
            n2d = evaluate(GaussianMixture(10, covariance_type="full", random_state=a.seed).fit_predict(M), y_true=data.y)
            t = emb.history_["seconds"]
            rows.append({**base, "library": "deepclust", "precision": precision, "batch_size": 256, "epochs": a.quality_epochs,
                         "median_epoch_seconds": round(statistics.median(t[1:] or t), 3), "speedup_vs_clustpy": round(ref / statistics.median(t[1:] or t), 2) if ref else "",
                         "final_loss": emb.history_["loss"][-1], "kmeans_acc": km["acc"], "n2d_acc": n2d["acc"], "n2d_nmi": n2d["nmi"]})
            print(f"quality {precision}: loss {emb.history_['loss'][-1]:.5f}, k-means ACC {km['acc']:.4f}, N2D ACC {n2d['acc']:.4f}", flush=True)
    for r in rows:
        r.setdefault("final_loss", "")
        r.setdefault("kmeans_acc", "")
        r.setdefault("n2d_acc", "")
        r.setdefault("n2d_nmi", "")
        r["peak_rss_mb"] = round(peak_rss_mb(), 1)
    append_rows(a.out, rows, columns=COLUMNS)


if __name__ == "__main__":
    main()

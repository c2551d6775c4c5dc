"""Benchmark N2D against raw-pixel baselines on MNIST (and MNIST-test, USPS, Fashion-MNIST).

Reproduces the N2D row of McConville et al. (ICPR 2020), Table II, next to k-means and a
Gaussian mixture on raw pixels and UMAP + GMM on raw pixels (N2D without the autoencoder).
Each (dataset, method, seed) cell runs in a fresh child process and appends its row to the
results CSV as soon as it finishes, so an interrupted run keeps every finished row.

Methods
-------
n2d       deepclust N2D: AE d-500-500-2000-10 (float32, timed including pretraining), then UMAP
          (n_neighbors=20, min_dist=0, 10 dims), then a full-covariance GMM.
umap-gmm  UMAP (same settings, random_state=seed) on raw pixels, then a full-covariance GMM.
kmeans    sklearn KMeans, k=10, n_init=10, on raw pixels.
gmm-diag  GaussianMixture on raw pixels with *diagonal* covariances: a full 784x784 covariance
          per component is slow and singular on MNIST's constant border pixels. ("gmm" is
          accepted as an alias.)

Example
-------
    DEEPCLUST_DATA=/work/shared/data python benchmarks/n2d_mnist.py \
        --methods n2d,umap-gmm,kmeans --seeds 0-4 --skip-done
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    append_rows,
    command_line,
    device_description,
    done_cells,
    git_commit,
    parse_seeds,
    run_in_child,
    setup_logging,
)

logger = logging.getLogger("benchmarks.n2d_mnist")

DATASETS = ("mnist", "mnist-test", "usps", "fashion-mnist")
METHODS = ("n2d", "umap-gmm", "kmeans", "gmm-diag")
ALIASES = {"gmm": "gmm-diag", "umap": "umap-gmm", "k-means": "kmeans"}
N_CLUSTERS = 10
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "n2d_mnist.csv"


def _load(dataset: str):
    from deepclust.datasets import load_dataset

    return load_dataset(dataset)


def _umap(seed: int):
    import umap

    # N2D's manifold settings; a seeded UMAP runs single-threaded (reproducible).
    return umap.UMAP(n_neighbors=20, min_dist=0.0, n_components=N_CLUSTERS, metric="euclidean", random_state=seed)


def _fit_predict(method: str, X, seed: int, cfg: dict):
    """Cluster ``X`` (n_samples, n_features) with ``method``; returns (labels, torch device, info)."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    if method == "n2d":
        from deepclust.methods import N2D, AutoencoderEmbedding

        emb = AutoencoderEmbedding(
            latent_dim=N_CLUSTERS,
            hidden_dims=(500, 500, 2000),
            epochs=cfg["epochs"],
            batch_size=cfg["batch_size"],
            lr=cfg["lr"],
            precision=cfg["precision"],
            device=cfg["device"],
            random_state=None,  # drawn from N2D's random_state
        )
        model = N2D(n_clusters=N_CLUSTERS, embedding=emb, random_state=seed).fit(X)
        hist = model.embedding_.history_
        info = {"ae_seconds": float(sum(hist["seconds"])), "ae_final_loss": float(hist["loss"][-1])}
        return model.labels_, str(next(model.embedding_.autoencoder_.parameters()).device), info
    if method == "umap-gmm":
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
            M = _umap(seed).fit_transform(X)
        gmm = GaussianMixture(n_components=N_CLUSTERS, covariance_type="full", random_state=seed)
        return gmm.fit_predict(np.asarray(M, dtype=np.float64)), "cpu", {}
    if method == "kmeans":
        return KMeans(n_clusters=N_CLUSTERS, n_init=10, random_state=seed).fit_predict(X), "cpu", {}
    if method == "gmm-diag":
        gmm = GaussianMixture(n_components=N_CLUSTERS, covariance_type="diag", random_state=seed)
        return gmm.fit_predict(X), "cpu", {}
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


def run_cell(dataset: str, method: str, seed: int, cfg: dict) -> dict:
    """Child-process body: load, then time only the fit; returns the metric fields of a row.

    The data are loaded before the clock starts, but their memory counts in the peak RSS.
    """
    import time

    from deepclust.metrics import ari, cluster_accuracy, nmi

    ds = _load(dataset)
    t0 = time.perf_counter()
    labels, torch_device, info = _fit_predict(method, ds.X, seed, cfg)
    fit_seconds = time.perf_counter() - t0
    return {
        "n_samples": int(ds.X.shape[0]),
        "acc": float(cluster_accuracy(ds.y, labels)),
        "nmi": float(nmi(ds.y, labels)),
        "ari": float(ari(ds.y, labels)),
        "fit_seconds": fit_seconds,
        "device": device_description(torch_device),
        "info": info,
    }


def _parse_methods(text: str) -> list[str]:
    out = []
    for m in text.split(","):
        m = ALIASES.get(m.strip().lower(), m.strip().lower())
        if not m:
            continue
        if m not in METHODS:
            raise argparse.ArgumentTypeError(f"unknown method {m!r}; expected some of {', '.join(METHODS)}")
        out.append(m)
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", type=_parse_methods, default=list(METHODS), help="comma-separated: n2d,umap-gmm,kmeans,gmm-diag")
    p.add_argument("--seeds", type=parse_seeds, default=parse_seeds("0-4"), help="e.g. 0-4 or 0,3,7 (default 0-4)")
    p.add_argument("--dataset", default="mnist", choices=DATASETS, help="default mnist (all 70000 images)")
    p.add_argument("--epochs", type=int, default=20, help="N2D autoencoder epochs (default 20)")
    p.add_argument("--batch-size", type=int, default=256, help="N2D autoencoder batch size (default 256)")
    p.add_argument("--lr", type=float, default=1e-3, help="N2D autoencoder Adam learning rate (default 1e-3)")
    p.add_argument("--precision", default="float32", choices=("float32", "bf16", "auto"), help="N2D training arithmetic (default float32)")
    p.add_argument("--device", default="auto", help="torch device for N2D: auto, cpu, cuda (default auto)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results CSV (default benchmarks/results/n2d_mnist.csv)")
    p.add_argument("--skip-done", action="store_true", help="skip (dataset, method, seed) cells already in --out")
    return p


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    args = build_parser().parse_args(argv)
    os.environ.setdefault("DEEPCLUST_DATA", str(Path(__file__).resolve().parent.parent.parent / "shared" / "data"))
    cfg = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "precision": args.precision, "device": args.device}
    commit, command = git_commit(), command_line()
    done = done_cells(args.out) if args.skip_done else set()
    logger.info("commit %s; writing to %s; n2d settings %s", commit, args.out, cfg)
    failures = 0
    for method in args.methods:
        for seed in args.seeds:
            if (args.dataset, method, seed) in done:
                logger.info("skip %s / %s / seed %d: already in %s", args.dataset, method, seed, args.out)
                continue
            logger.info("start %s / %s / seed %d", args.dataset, method, seed)
            try:
                res, seconds, peak = run_in_child(run_cell, args.dataset, method, seed, cfg)
            except RuntimeError as exc:
                failures += 1
                logger.error("%s / %s / seed %d failed: %s", args.dataset, method, seed, exc)
                continue
            row = {
                "dataset": args.dataset,
                "method": method,
                "seed": seed,
                "n_samples": res["n_samples"],
                "acc": round(res["acc"], 4),
                "nmi": round(res["nmi"], 4),
                "ari": round(res["ari"], 4),
                # the fit only (data loading and metrics excluded); the whole child took `seconds`
                "seconds": round(res["fit_seconds"], 1),
                "peak_rss_mb": round(peak, 0),
                "device": res["device"],
                "commit": commit,
                "command": command,
            }
            append_rows(args.out, [row])
            logger.info(
                "done %s / %s / seed %d: acc %.4f nmi %.4f ari %.4f, fit %.1f s (child %.1f s), peak %.0f MiB %s",
                args.dataset, method, seed, res["acc"], res["nmi"], res["ari"], res["fit_seconds"], seconds, peak,
                " ".join(f"{k}={v:.4g}" for k, v in res["info"].items()),
            )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

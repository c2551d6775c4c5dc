"""Where the time goes in one N2D run and one DEC run on MNIST-70k (benchmarks/PERFORMANCE.md).

    DEEPCLUST_DATA=../shared/data python benchmarks/profile_runs.py --epochs 50 --seed 0

Phases are timed with wall clocks; inside UMAP and the DEC phase, cProfile attributes the time
to the functions that take it (cumulative seconds of the top entries are printed).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path


def top(profile: cProfile.Profile, n: int = 12) -> str:
    buf = io.StringIO()
    pstats.Stats(profile, stream=buf).sort_stats("cumulative").print_stats(n)
    lines = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if ln.strip().startswith("ncalls"))
    return "\n".join(lines[start:])


def main() -> None:
    import numpy as np
    from sklearn.mixture import GaussianMixture

    from deepclust.datasets import load_dataset
    from deepclust.methods import DEC, AutoencoderEmbedding
    from deepclust.methods.n2d import _fit_manifold, default_umap
    from deepclust.metrics import evaluate

    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    data = load_dataset("mnist")
    X = data.X
    t0 = time.perf_counter()
    emb = AutoencoderEmbedding(epochs=a.epochs, random_state=a.seed).fit(X)
    t_ae = time.perf_counter() - t0
    ep = emb.history_["seconds"]
    Z = emb.transform(X)
    t1 = time.perf_counter()
    prof = cProfile.Profile()
    prof.enable()
    M = _fit_manifold(default_umap(10, a.seed), Z)
    prof.disable()
    t_umap = time.perf_counter() - t1
    t2 = time.perf_counter()
    labels = GaussianMixture(10, covariance_type="full", random_state=a.seed).fit_predict(M)
    t_gmm = time.perf_counter() - t2
    acc = evaluate(labels, y_true=data.y)["acc"]
    print(f"N2D (seed {a.seed}): ACC {acc:.4f}")
    print(f"  autoencoder {t_ae:7.1f} s  ({len(ep)} epochs, median {np.median(ep):.2f} s/epoch, first {ep[0]:.2f} s)")
    print(f"  UMAP        {t_umap:7.1f} s")
    print(f"  GMM (full)  {t_gmm:7.1f} s")
    print("  UMAP, cumulative seconds by function:\n" + top(prof, 14))

    with tempfile.TemporaryDirectory() as tmp:
        path = emb.save(Path(tmp) / "ae")
        t3 = time.perf_counter()
        prof = cProfile.Profile()
        prof.enable()
        dec = DEC(10, embedding=str(path), random_state=a.seed).fit(X)
        prof.disable()
        t_dec = time.perf_counter() - t3
    h = dec.history_
    print(f"DEC (seed {a.seed}, from the same autoencoder): ACC {evaluate(dec.labels_, y_true=data.y)['acc']:.4f}, "
          f"{dec.n_iter_} steps, {len(h.get('update_step', []))} target updates, {t_dec:.1f} s ({dec.stop_reason_})")
    print(f"  clustering-phase epochs: {len(h['seconds'])}, sum of epoch seconds {sum(h['seconds']):.1f} s (target updates included)")
    print("  DEC, cumulative seconds by function:\n" + top(prof, 22))


if __name__ == "__main__":
    main()

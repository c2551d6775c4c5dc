"""k-means on a VAE's latent code vs on the original and the reconstructed data.

The comparison of Agarap & Azcarraga (2019), whose table is in ``../shared/REFERENCE_RESULTS.md``:
a VAE is trained on the 60,000 training images; k-means (k=10, k-means++) is fitted on the
training set in each representation (original pixels, the VAE's reconstruction, its latent
means) and labels the 10,000 test images with Gaussian noise added (std ``--noise``, clipped
to the pixel range [0, 1]); each labelling is scored on the noisy test set in the space it
was made in by Davies-Bouldin (lower is better), silhouette and Calinski-Harabasz, and, since
the labels are known, ACC / NMI / ARI.

The source gives the VAE's training (60 epochs, batch 512) but not the noise level nor the
network; we use deepclust's default VAE (d-500-500-2000-10, Bernoulli likelihood for pixels)
and ``--noise 0.1`` unless told otherwise. One row per (dataset, representation, seed) goes to
``benchmarks/results/vae_latent.csv``; the VAE's wall time is in every row of its seed.

    DEEPCLUST_DATA=../shared/data python benchmarks/vae_latent.py --datasets mnist fashion-mnist --seeds 0-2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from deepclust.bench import append_rows, parse_seeds, read_rows
from deepclust.bench._results import command_line, device_description, git_commit, peak_rss_mb
from deepclust.datasets import load_dataset
from deepclust.methods import VAEEmbedding
from deepclust.methods._base import draw_seed, seed_stream
from deepclust.metrics import evaluate

COLUMNS = (
    "dataset", "representation", "seed", "n_train", "n_test", "noise", "davies_bouldin", "silhouette", "calinski_harabasz",
    "acc", "nmi", "ari", "vae_seconds", "kmeans_seconds", "peak_rss_mb", "device", "commit", "command",
)
REPRESENTATIONS = ("original", "reconstructed", "latent")
OUT = Path(__file__).parent / "results" / "vae_latent.csv"


def run_one(dataset: str, seed: int, *, noise: float, epochs: int, batch_size: int, out: Path) -> None:
    from sklearn.cluster import KMeans

    train, test = load_dataset(dataset, subset="train"), load_dataset(dataset, subset="test")
    rng = seed_stream(seed)
    vae_seed, noise_seed, km_seed = draw_seed(rng), draw_seed(rng), draw_seed(rng)
    noisy = np.clip(test.X + np.random.default_rng(noise_seed).normal(0.0, noise, test.X.shape), 0.0, 1.0).astype(np.float32)
    t0 = time.perf_counter()
    vae = VAEEmbedding(epochs=epochs, batch_size=batch_size, recon="bce", random_state=vae_seed).fit(train.X)
    vae_seconds = time.perf_counter() - t0
    spaces = {
        "original": (train.X, noisy),
        "reconstructed": (vae.reconstruct(train.X), vae.reconstruct(noisy)),
        "latent": (vae.transform(train.X), vae.transform(noisy)),
    }
    rows, commit = [], git_commit()
    for name in REPRESENTATIONS:
        fit_on, score_on = spaces[name]
        t1 = time.perf_counter()
        km = KMeans(n_clusters=10, init="k-means++", n_init=10, random_state=km_seed).fit(fit_on)
        labels = km.predict(score_on)
        km_seconds = time.perf_counter() - t1
        m = evaluate(labels, X=score_on, y_true=test.y, sample_size=None)
        rows.append({
            "dataset": dataset, "representation": name, "seed": seed, "n_train": train.n_samples, "n_test": test.n_samples,
            "noise": noise, "davies_bouldin": m["davies_bouldin"], "silhouette": m["silhouette"],
            "calinski_harabasz": m["calinski_harabasz"], "acc": m["acc"], "nmi": m["nmi"], "ari": m["ari"],
            "vae_seconds": round(vae_seconds, 1), "kmeans_seconds": round(km_seconds, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
            "device": device_description(str(vae._device_of_model())), "commit": commit, "command": command_line(),
        })
        print(f"{dataset} seed {seed} {name:>13}: DBI {m['davies_bouldin']:.3f} sil {m['silhouette']:.3f} CH {m['calinski_harabasz']:.1f} ACC {m['acc']:.3f}", flush=True)
    append_rows(out, rows, columns=COLUMNS)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist"])
    p.add_argument("--seeds", default="0-2")
    p.add_argument("--noise", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args()
    done = {(r["dataset"], int(r["seed"])) for r in read_rows(a.out)}
    for dataset in a.datasets:
        for seed in parse_seeds(a.seeds):
            if (dataset, seed) in done:  # resume: a (dataset, seed) is written whole or not at all
                continue
            run_one(dataset, seed, noise=a.noise, epochs=a.epochs, batch_size=a.batch_size, out=a.out)


if __name__ == "__main__":
    main()

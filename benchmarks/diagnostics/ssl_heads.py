"""Which clustering step after the contrastive encoder? Heads compared on one trained encoder.

``simclr-n2d`` on Fashion-MNIST keeps the NMI of a held-out slice (0.684 there, 0.677 on the
test split) but not its ACC (0.708 against 0.61): the encoder's neighbourhoods transfer, the
matching of ten clusters to ten classes does not. This script asks whether that is the
clustering step's doing, at the cost of one encoder training:

``train``: fits ``simclr-n2d`` exactly as the suite does (``build_method("simclr-n2d", k, seed)``)
on the first ``--n`` rows of a split, then writes the encoder's codes of that slice and of
``--slices`` further disjoint slices of the same split (encoded by the trained encoder, never
trained on) to an ``.npz``, with the fitted method's own labels of the training slice.

``heads``: clusters every slice's codes with each head and appends ACC/NMI/ARI rows, so that a
head is judged over several slices (the spread between slices is the evidence, not one slice).
Labels only score.

    DEEPCLUST_DATA=../shared/data python benchmarks/diagnostics/ssl_heads.py train fashion-mnist --subset train \\
        --n 10000 --slices 4 --codes /tmp/fashion_codes.npz
    python benchmarks/diagnostics/ssl_heads.py heads --codes /tmp/fashion_codes.npz --out benchmarks/results/ssl_heads.jsonl
"""
import argparse
import json
import time
import warnings

import numpy as np

from deepclust.bench._results import cpu_description, git_commit
from deepclust.metrics import evaluate


def train(a) -> None:
    from deepclust.methods import build_method
    from heldout import prepared_slice  # the script's folder is on sys.path

    data, X, y, k = prepared_slice(a.name, a.subset, None)
    n = a.n
    if n * (a.slices + 1) > len(X):
        raise SystemExit(f"{a.name} {a.subset} has {len(X)} rows: too few for {a.slices + 1} slices of {n}")
    t0 = time.perf_counter()
    model = build_method("simclr-n2d", k, a.seed, image_shape=data.image_shape, embedding={"steps": a.steps}).fit(X[:n])
    seconds = time.perf_counter() - t0
    codes = {"slice0": model.embedding_.transform(X[:n])}
    labels = {"y0": y[:n]}
    for i in range(1, a.slices + 1):
        codes[f"slice{i}"] = model.embedding_.transform(X[i * n:(i + 1) * n])
        labels[f"y{i}"] = y[i * n:(i + 1) * n]
    np.savez(a.codes, **codes, **labels, fit_labels=model.labels_, k=k, seed=a.seed, seconds=seconds,
             steps=(model.embedding_.training_ or {}).get("steps", -1), name=a.name, subset=a.subset, commit=git_commit())
    print(json.dumps({"data": a.name, "fit_acc": round(evaluate(model.labels_, y_true=y[:n])["acc"], 4), "seconds": round(seconds, 1)}), flush=True)


def _umap_gmm(Z, k, seed, n_neighbors):
    import umap

    from deepclust.methods._clusterers import fit_assigner, full_gmm

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
        M = umap.UMAP(n_neighbors=n_neighbors, min_dist=0.0, n_components=k, random_state=seed).fit_transform(Z)
    return fit_assigner(full_gmm(k, seed + 1), M)[1]


def head_labels(name: str, Z: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Labels of ``Z`` (the encoder's L2-normalised codes) by head ``name``."""
    from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralClustering

    from deepclust.methods.n2d import manifold_partition

    if name == "n2d":  # the default: N2D's manifold step (UMAP, 20 neighbours, k dims) and full GMM
        return manifold_partition(Z, k, seed)
    if name == "kmeans":  # spherical-ish: the codes are unit vectors
        return KMeans(k, n_init=10, random_state=seed).fit_predict(Z)
    if name == "spectral":  # normalised cut of the 20-NN graph of the codes
        return SpectralClustering(k, affinity="nearest_neighbors", n_neighbors=20, assign_labels="cluster_qr", random_state=seed).fit_predict(Z)
    if name == "ward":
        return AgglomerativeClustering(k, linkage="ward").fit_predict(Z)
    if name.startswith("n2d-ens"):  # n2d-ens5: consensus of 5 runs of the default head (k-means on their stacked one-hots)
        runs = [manifold_partition(Z, k, seed * 1000 + r) for r in range(int(name[7:]))]
        H = np.concatenate([np.eye(k, dtype=np.float32)[lab] for lab in runs], axis=1)
        return KMeans(k, n_init=10, random_state=seed).fit_predict(H)
    if name.startswith("umap") and name.endswith("-gmm"):  # umap50-gmm: N2D's step with 50 neighbours
        return _umap_gmm(Z, k, seed, int(name[4:-4]))
    raise SystemExit(f"unknown head {name!r}")


def heads(a) -> None:
    f = np.load(a.codes)
    k = int(f["k"])
    slices = sorted(int(key[5:]) for key in f.files if key.startswith("slice"))
    commit, machine = git_commit(), cpu_description()
    fit = evaluate(f["fit_labels"], y_true=f["y0"])
    print(f"{f['name']}: the fitted simclr-n2d on slice 0: ACC {fit['acc']:.4f} NMI {fit['nmi']:.4f}", flush=True)
    for i in (a.slices if a.slices is not None else slices):
        Z, y = f[f"slice{i}"], f[f"y{i}"]
        for name, seed in ((name, seed) for name in a.heads for seed in a.head_seeds):
            t0 = time.perf_counter()
            labels = head_labels(name, Z, k, seed)
            s = evaluate(labels, y_true=y)
            sizes = np.bincount(labels, minlength=k)
            row = {"data": str(f["name"]), "subset": str(f["subset"]), "slice": i, "trained_on": i == 0, "head": name, "head_seed": seed, "encoder_seed": int(f["seed"]),
                   "encoder_steps": int(f["steps"]), "acc": round(s["acc"], 4), "nmi": round(s["nmi"], 4), "ari": round(s["ari"], 4),
                   "smallest": int(sizes.min()), "largest": int(sizes.max()), "seconds": round(time.perf_counter() - t0, 1),
                   "encoder_commit": str(f["commit"]), "commit": commit, "machine": machine}
            print(json.dumps(row), flush=True)
            with open(a.out, "a") as out:
                out.write(json.dumps(row) + "\n")


p = argparse.ArgumentParser()
sub = p.add_subparsers(dest="stage", required=True)
t = sub.add_parser("train")
t.add_argument("name")
t.add_argument("--subset", default="train")
t.add_argument("--n", type=int, default=10000)
t.add_argument("--slices", type=int, default=4, help="further disjoint slices of --n rows, encoded but not trained on")
t.add_argument("--seed", type=int, default=0)
t.add_argument("--steps", type=int, default=None, help="training budget (default: the method's own, 11,000 steps)")
t.add_argument("--codes", required=True)
h = sub.add_parser("heads")
h.add_argument("--codes", required=True)
h.add_argument("--heads", nargs="+", default=["n2d", "kmeans", "spectral", "ward", "umap50-gmm"])
h.add_argument("--head-seeds", type=int, nargs="+", default=[0], help="the heads' own seeds: the spread of one head on fixed codes")
h.add_argument("--slices", type=int, nargs="*", default=None, help="only these slices (default: all)")
h.add_argument("--out", required=True)
a = p.parse_args()
train(a) if a.stage == "train" else heads(a)

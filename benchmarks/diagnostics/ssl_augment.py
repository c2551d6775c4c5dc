"""Why does the contrastive default lose on Fashion-MNIST? Its views, compared on held-out images.

Runs ``simclr-n2d`` exactly as the suite does (``build_method("simclr-n2d", k, seed)`` with the
dataset's image shape: the conv encoder, then N2D's manifold step and mixture) on a held-out
slice, once per named augmentation variant (options of :class:`deepclust.nn.ImageAugment`,
merged over the defaults), optionally at a shorter budget than the default 11,000 steps so that
several variants fit a session. Records ACC/NMI/ARI, the final NT-Xent loss, the steps, the
seconds, and one ACC-free-of-training check of a shortcut: how much of the images' mean
intensity the found clusters explain (the correlation ratio eta^2 of per-image mean pixel value
on the cluster labels), beside the same for the true classes. Clusters that explain more of
the intensity than the classes do are clusters of brightness. Labels only score.

    DEEPCLUST_DATA=../shared/data python benchmarks/diagnostics/ssl_augment.py fashion-mnist --subset train --n 10000 \\
        --steps 4000 --baselines umap-gmm --variants default all jitter flip crop02 --out benchmarks/results/ssl_augment.jsonl
"""
import argparse
import json
import time

import numpy as np

from deepclust.bench._results import cpu_description, git_commit, peak_rss_mb
from deepclust.methods import build_method
from deepclust.metrics import evaluate
from heldout import add_slice_arguments, prepared_slice  # the script's folder is on sys.path

#: "default" is the views' defaults at the row's commit: no intensity jitter before stop 32,
#: brightness = contrast = 0.4 since (the "jitter" rows of stop 31 are today's default);
#: "no-jitter" is the old default's views
#: spelled out, not left to the default, so that a row means the same views at any commit
JITTER = {"brightness": 0.4, "contrast": 0.4}
VARIANTS = {
    "default": {},
    "no-jitter": {"brightness": 0.0, "contrast": 0.0},
    "flip": {"flip": True},
    "jitter": JITTER,
    "crop02": {"crop_scale": [0.2, 1.0]},
    "flip-jitter": {"flip": True, **JITTER},
    "jitter-crop02": {**JITTER, "crop_scale": [0.2, 1.0]},
    "all": {"flip": True, **JITTER, "crop_scale": [0.2, 1.0]},
}


def eta2(values: np.ndarray, labels: np.ndarray) -> float:
    """Share of the variance of ``values`` explained by the group means of ``labels``."""
    total = values.var() * len(values)
    between = sum(len(v) * (v.mean() - values.mean()) ** 2 for v in (values[labels == g] for g in np.unique(labels)))
    return float(between / total)


p = argparse.ArgumentParser()
add_slice_arguments(p)
p.add_argument("--seeds", type=int, nargs="+", default=[0])
p.add_argument("--steps", type=int, default=None, help="training budget (default: the method's own, 11,000 steps)")
p.add_argument("--variants", nargs="*", default=["default"], choices=sorted(VARIANTS))
p.add_argument("--baselines", nargs="*", default=[], help="methods run on the same slice for reference (e.g. umap-gmm n2d)")
p.add_argument("--out", required=True)
a = p.parse_args()

data, X, y, k = prepared_slice(a.name, a.subset, a.n)
if data.image_shape is None:
    raise SystemExit(f"{a.name} has no image shape: image augmentations do not apply")
intensity = X.mean(axis=1)
commit, machine = git_commit(), cpu_description()
print(f"{a.name} {a.subset} n={len(X)} k={k}: eta2(intensity | classes) = {eta2(intensity, y):.3f}", flush=True)
for seed in a.seeds:
    for name in a.baselines + a.variants:
        baseline = name in a.baselines
        t0 = time.perf_counter()
        if baseline:  # the method's own defaults, no augmentation to vary
            model = build_method(name, k, seed, image_shape=data.image_shape).fit(X)
        else:
            model = build_method("simclr-n2d", k, seed, image_shape=data.image_shape, embedding={"augment": VARIANTS[name], "steps": a.steps}).fit(X)
        seconds = time.perf_counter() - t0
        scores = evaluate(model.labels_, y_true=y)
        embedding = getattr(model, "embedding_", None)
        training = getattr(embedding, "training_", None) or {}
        history = getattr(embedding, "history_", None) or {}
        row = {
            "data": a.name, "subset": a.subset, "n": int(len(X)), "seed": seed,
            "method": name if baseline else "simclr-n2d", "variant": None if baseline else name, "augment": None if baseline else VARIANTS[name],
            "acc": round(scores["acc"], 4), "nmi": round(scores["nmi"], 4), "ari": round(scores["ari"], 4),
            "eta2_intensity_clusters": round(eta2(intensity, model.labels_), 3), "eta2_intensity_classes": round(eta2(intensity, y), 3),
            "final_loss": round(float(history["loss"][-1]), 4) if history.get("loss") else None, "steps": training.get("steps"),
            "stop": training.get("stop_reason"), "seconds": round(seconds, 1), "peak_mb": round(peak_rss_mb()),
            "commit": commit, "machine": machine,
        }
        print(json.dumps(row), flush=True)
        with open(a.out, "a") as f:
            f.write(json.dumps(row) + "\n")

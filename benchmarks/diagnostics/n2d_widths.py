"""N2D with CLI defaults except the autoencoder's hidden widths, over seeds (one JSON line a run).

Issue 15 item 2 asks for widths that fit the data, read from n_samples as well as n_features.
The rule in ``nn/sizing.py`` reads the features only; on the 1,152-row exposures table N2D with
its 222-500-500-1776-6 network (2.5 M weights for 256 k values) loses ~18 children to UMAP + GMM,
while 32-32-128 did not (seed 0, ``exposures_narrow_n2d.py``). This script measures ACC and time
against the widths on tables the suite does not hold, so that a rule can be chosen there and
checked on the suite's rows:

- ``sk:wine``, ``sk:breast_cancer``, ``sk:iris``: scikit-learn's bundled tables (no download);
- ``mnist-train:N``: the first N images of MNIST's training split as a plain table of 784
  pixel columns (what a CSV export is: no image shape, so ``scale="auto"`` standardises it);
- any registered dataset, or ``exposome:TABLE`` (the loaders: ``heldout.py``).

Each run is ``build_method("n2d", k, seed, hidden_dims=...)`` as a bench cell builds it (step
budget, seeds from N2D's stream), on the data as ``scale="auto"`` prepares it; ``umap-gmm`` on
the same data and seed is the baseline. ``default`` is the width rule of today. Labels only score.

    DEEPCLUST_DATA=../shared/data python benchmarks/diagnostics/n2d_widths.py sk:wine --widths 32 64 default --seeds 0 1 2
"""
import argparse
import json
import platform
import subprocess
import time

import numpy as np

from deepclust.methods import build_method
from deepclust.metrics import evaluate
from deepclust.nn.sizing import default_hidden_dims
from deepclust.runs.data import plan_preprocessing
from heldout import load  # the script's folder is on sys.path (mnist-train:N as a plain table here)


def n_weights(dims) -> int:
    """Weights of the encoder and its mirrored decoder (biases left out)."""
    return 2 * sum(a * b for a, b in zip(dims, dims[1:]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--widths", nargs="+", default=["default"], help="w (for w-w-4w) or default")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    data = load(args.data, as_table=True)
    X = plan_preprocessing(data, "auto", []).fit_transform(data)
    n, d = X.shape
    k = len(np.unique(data.y))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    base = {"data": args.data, "n": n, "d": d, "k": k, "commit": commit, "machine": platform.processor() or platform.machine()}
    for seed in args.seeds:
        runs = [("umap-gmm", None)] if not args.no_baseline else []
        runs += [("n2d", w) for w in args.widths]
        for method, w in runs:
            opts = {}
            if w is not None and w != "default":
                opts["hidden_dims"] = [int(w), int(w), 4 * int(w)]
            dims = opts.get("hidden_dims", list(default_hidden_dims(d))) if method == "n2d" else None
            t0 = time.time()
            m = build_method(method, k, seed, **opts).fit(X)
            row = {**base, "method": method, "seed": seed, "widths": w, "hidden_dims": dims,
                   "weights": n_weights([d, *dims, k]) if dims else None,
                   "acc": round(evaluate(m.labels_, y_true=data.y)["acc"], 4),
                   "seconds": round(time.time() - t0, 1)}
            if dims:
                row["weights_per_value"] = round(row["weights"] / (n * d), 3)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

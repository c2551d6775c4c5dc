"""One benchmark cell, run in its own process: ``python -m deepclust.bench.cell < spec.json``.

The child loads the data, fits the method on the features only (labels are never passed to
``fit``), scores the labels against the reference, and prints one line
``DEEPCLUST_RESULT {json}`` with the metrics, wall time and its own peak memory.
"""

from __future__ import annotations

import json
import sys
import time

MARKER = "DEEPCLUST_RESULT "


def run_cell(spec: dict) -> dict:
    """Fit and score one (dataset, method, seed); returns metrics, seconds and peak memory."""
    import numpy as np

    from deepclust.bench._results import peak_rss_mb
    from deepclust.datasets import load_dataset
    from deepclust.methods import build_method
    from deepclust.metrics import evaluate
    from deepclust.preprocess import fit_scaling

    d = spec["dataset"]
    data = load_dataset(d["name"] or d["path"], subset=d.get("subset", "all"), **d.get("options", {}))
    if data.y is None:
        raise ValueError(f"dataset {data.name!r} has no reference labels; a benchmark needs them for scoring")
    k = d.get("n_clusters") or int(len(np.unique(data.y)))
    scale = d.get("scale", "auto")
    if scale == "auto":
        scale = "none" if data.image_shape is not None else "standard"
    estimator = build_method(spec["method"]["name"], k, spec["seed"], image_shape=data.image_shape, **spec["method"].get("params", {}))
    t0 = time.perf_counter()
    X, _ = fit_scaling(scale, data.X)
    labels = estimator.fit(X).labels_  # the honest protocol: no labels reach the method
    seconds = time.perf_counter() - t0
    metrics = evaluate(np.asarray(labels), y_true=data.y)
    device = getattr(getattr(estimator, "embedding_", None), "autoencoder_", None)
    device = str(next(device.parameters()).device) if device is not None else "cpu"
    return {
        "n_samples": int(data.n_samples),
        "acc": metrics["acc"],
        "nmi": metrics["nmi"],
        "ari": metrics["ari"],
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "torch_device": device,
    }


def main() -> int:
    spec = json.loads(sys.stdin.read())
    try:
        result = {"status": "ok", **run_cell(spec)}
    except Exception as exc:  # reported to the parent as a failed cell, never a crash of the run
        result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

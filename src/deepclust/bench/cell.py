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
    """Fit and score one (dataset, method, seed); returns metrics, seconds and peak memory.

    The data are preprocessed and scaled by the run pipeline's own step
    (:func:`deepclust.runs.data.plan_preprocessing`), as ``deepclust fit`` does.
    """
    import numpy as np

    from deepclust.bench._results import peak_rss_mb
    from deepclust.datasets import load_dataset
    from deepclust.methods import build_method
    from deepclust.metrics import evaluate
    from deepclust.runs.data import plan_preprocessing, resolve_n_clusters

    d = spec["dataset"]
    data = load_dataset(d["name"] or d["path"], subset=d.get("subset", "all"), **d.get("options", {}))
    if data.y is None:
        raise ValueError(f"dataset {data.name!r} has no reference labels; a benchmark needs them for scoring")
    k = resolve_n_clusters(d.get("n_clusters"), data)
    # batch correction etc. read the metadata, never the reference labels
    prep = plan_preprocessing(data, d.get("scale", "auto"), d.get("preprocess") or [])
    estimator = build_method(spec["method"]["name"], k, spec["seed"], image_shape=data.image_shape, **spec["method"].get("params", {}))
    t0 = time.perf_counter()
    X = prep.fit_transform(data)
    pretrain_seconds = 0.0
    if spec["method"].get("pretrain") == "shared":
        path, pretrain_seconds = shared_pretraining(estimator, X, spec["seed"], spec["pretrain_dir"], d.get("key") or data.name)
        estimator.set_params(embedding=str(path))
        t0 = time.perf_counter()
    labels = estimator.fit(X).labels_  # the honest protocol: no labels reach the method
    seconds = time.perf_counter() - t0 + pretrain_seconds
    metrics = evaluate(np.asarray(labels), y_true=data.y)
    associations = []
    if d.get("technical") or d.get("biological"):
        from deepclust.explain.confounders import confounder_check

        check = confounder_check(labels, data.metadata, technical=d.get("technical", ()), biological=d.get("biological", ()), warn=False)
        associations = check["associations"]
    internal = None
    if spec.get("internal_metrics"):
        # Silhouette, Davies-Bouldin, Calinski-Harabasz in the space the method clustered in
        # (its transform), as metrics.json of a run folder reports them.
        space = np.asarray(estimator.transform(X)) if hasattr(estimator, "transform") else X
        m = evaluate(np.asarray(labels), X=space)
        internal = {"space_dims": int(space.shape[1]), **{k: m[k] for k in ("silhouette", "davies_bouldin", "calinski_harabasz")}}
    training = None
    if getattr(estimator, "init_labels_", None) is not None:  # a deep model's start: how much of the row is it
        start = evaluate(np.asarray(estimator.init_labels_), y_true=data.y)
        training = {"start_acc": start["acc"], "start_nmi": start["nmi"], "start_ari": start["ari"],
                    "steps": int(estimator.n_iter_), "stop_reason": estimator.stop_reason_}
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
        **({"associations": associations} if associations else {}),
        **({"internal": internal} if internal else {}),
        **({"training": training} if training else {}),
    }


def shared_pretraining(estimator, X, seed: int, cache_dir: str, dataset_key: str):
    """Fit (or reuse) the pretrained embedding that ``estimator`` would fit itself.

    The embedding is fitted exactly as the estimator's own ``fit`` would (same settings, same
    seed: the first seed its ``random_state`` draws), saved under ``cache_dir`` keyed by
    dataset, seed and settings, and reused by every method of the grid that asks for it, as
    DEC, IDEC, DCN and VaDE papers start from one pretrained autoencoder. Returns the folder
    and the pretraining's wall time, which the caller adds to the method's own time, so every
    row reports what a standalone run would cost.
    """
    import hashlib
    from pathlib import Path

    from sklearn.base import clone

    from deepclust._io import atomic_write_json
    from deepclust.methods._base import draw_seed, seed_stream

    estimator._start_fit(X)  # validates X and resolves what depends on the data (VaDE's likelihood), as fit does first
    embedding = estimator._embedding_to_fit()  # as the estimator's own fit would pretrain it (VaDE sets its likelihood)
    settings = {k: v for k, v in embedding.get_params().items() if k not in ("verbose", "random_state")}
    if hasattr(embedding, "_hidden_dims"):  # the widths "auto" resolves to here, so a changed width rule misses the cache
        settings["hidden_dims"] = [int(w) for w in embedding._hidden_dims(X.shape[1], X.shape[0])]
    key = hashlib.sha256(json.dumps([type(embedding).__name__, settings], sort_keys=True, default=str).encode()).hexdigest()[:12]
    folder = Path(cache_dir) / f"{dataset_key}-seed{seed}-{key}"
    timing = folder.with_name(folder.name + ".json")
    if (folder / "model.json").is_file() and timing.is_file():
        return folder, float(json.loads(timing.read_text())["seconds"])
    est = clone(embedding).set_params(random_state=draw_seed(seed_stream(seed)))
    t0 = time.perf_counter()
    est.fit(X)
    seconds = time.perf_counter() - t0
    folder.parent.mkdir(parents=True, exist_ok=True)
    est.save(folder, overwrite=True)
    atomic_write_json(timing, {"seconds": seconds, "embedding": type(embedding).__name__, "settings": settings, "seed": seed})
    return folder, seconds


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

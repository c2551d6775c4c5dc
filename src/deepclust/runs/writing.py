"""The evaluate and write steps of a run: ``metrics.json``'s document, then the run folder's files."""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from deepclust._io import atomic_open, atomic_write_json
from deepclust._version import __version__
from deepclust.datasets import Dataset
from deepclust.metrics import evaluate
from deepclust.runs.config import RunConfig
from deepclust.runs.data import Preprocessing
from deepclust.runs.fitting import SWEEP_EMBEDDING, Fitted

__all__ = ["run_description", "run_document", "timed", "write_labels", "write_run_folder"]


def run_description(dataset: Dataset, cfg: RunConfig, *, k, seed, seeds, prep: Preprocessing) -> dict:
    """What identifies a run for resuming: an interrupted run resumes only with the same description."""
    options = cfg.options
    return {
        "dataset": dataset.name, "n_samples": dataset.n_samples, "n_features": dataset.n_features, "method": cfg.method, "n_clusters": k,
        "seed": seed, "scale": prep.scale, "preprocess": list(prep.steps),
        **{key: v for key, v in sorted(options.items()) if key != "verbose" and v is not None},
        **({"seeds": seeds} if seeds else {}),
        **({"k_range": list(cfg.k_range) if cfg.k_range is not None else "default"} if k == "auto" else {}),
    }


def run_document(dataset: Dataset, cfg: RunConfig, prep: Preprocessing, fitted: Fitted, *, X: np.ndarray, Z: np.ndarray,
                 seconds: float, technical=(), biological=()) -> dict:
    """Evaluate the labels (internal metrics on ``Z``, external ones when the dataset has labels)
    and describe the run: the content of ``metrics.json``."""
    doc = {
        "dataset": dataset.name,
        "n_samples": dataset.n_samples,
        "n_features": dataset.n_features,
        "method": cfg.method,
        "n_clusters": fitted.k,
        "seed": fitted.seed,
        "scale": prep.scale,
        "scaling": prep.scaling,
        "preprocess": prep.preprocessor.specs,
        "n_features_used": int(X.shape[1]),
        "fit_seconds": round(seconds, 3),
        "deepclust_version": __version__,
        "internal_metrics_space": "the representation that was clustered (estimator.transform)",
        "metrics": evaluate(fitted.labels, X=Z, y_true=dataset.y),
    }
    training = training_of(fitted.estimator)
    if training is not None:
        doc["training"] = training
    if cfg.data_source is not None:
        doc["data"] = cfg.data_source
    if dataset.info.get("classes") is not None:
        doc["classes"] = [str(c) for c in dataset.info["classes"]]
    if fitted.selection is not None:
        doc["select_k"] = fitted.selection.to_dict()
    if fitted.seed_fits is not None:
        fits = fitted.seed_fits
        doc["stability"] = {**fits.summary(), "unstable_clusters": fits.stability.unstable,
                            "mean_pairwise_ari": fits.stability.to_dict()["mean_pairwise_ari"]}
    if technical or biological:
        from deepclust.explain.confounders import confounder_check

        doc["confounders"] = confounder_check(fitted.labels, dataset.metadata, technical=technical, biological=biological)
    return doc


def training_of(estimator) -> dict | None:
    """How the network's training ran (steps, epochs, why it stopped, the budget rule), if it has one.

    The estimator's own ``training_`` (an embedding), else its embedding's (the pretraining of
    DEC, IDEC, DCN, VaDE and N2D)."""
    for obj in (estimator, getattr(estimator, "embedding_", None)):
        training = getattr(obj, "training_", None)
        if training is not None:
            return dict(training)
    return None


def write_labels(path: Path, sample_ids, labels: np.ndarray) -> None:
    """``sample_id, cluster`` as CSV, atomically."""
    frame = pd.DataFrame({"sample_id": np.asarray(sample_ids).astype(str), "cluster": labels.astype(np.int64)})
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        frame.to_csv(fh, index=False)


@contextlib.contextmanager
def timed(timings: dict, name: str):
    """Add the wall seconds of the ``with`` block to ``timings[name]``."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(timings.get(name, 0.0) + time.perf_counter() - t0, 3)


def write_run_folder(tmp: Path, dataset: Dataset, cfg: RunConfig, prep: Preprocessing, fitted: Fitted, doc: dict, *,
                     X: np.ndarray, Z: np.ndarray, main: bool = True, timings: dict | None = None) -> None:
    """Write the run folder's files into ``tmp`` (see :mod:`deepclust.runs` for the layout).

    Only the main process (``main``) writes the report's inputs and the plot; the model is
    saved, self-contained (the k sweep's embedding it started from is folded in), before
    ``metrics.json``, which is written last so that ``doc["timings"]`` (``timings`` plus the
    seconds of each writing step) covers the whole run.
    """
    estimator = fitted.estimator
    timings = {} if timings is None else timings
    if fitted.seed_fits is not None:
        fitted.seed_fits.stability.write(tmp, extra=fitted.seed_fits.summary())
    write_labels(tmp / "labels.csv", dataset.sample_ids, fitted.labels)
    prep.preprocessor.save(tmp)
    history = getattr(estimator, "history_", None) or getattr(getattr(estimator, "embedding_", None), "history_", None)
    if history:
        training = training_of(estimator)
        atomic_write_json(tmp / "history.json", {**history, **({"training": training} if training is not None else {})})
    if main:
        with timed(timings, "write_analysis_files"):
            write_analysis_files(tmp, dataset, X, Z, fitted, method=cfg.method, explain=cfg.explain, plot=cfg.plot)
    if cfg.plot and main:
        from deepclust.plotting import plot_embedding, save_figure

        with timed(timings, "plot"):
            ax = plot_embedding(Z, fitted.labels, title=f"{cfg.method} on {dataset.name}: {fitted.k} clusters", random_state=0)
            save_figure(ax.figure, tmp / "embedding.png")
    if (tmp / SWEEP_EMBEDDING).exists():
        shutil.rmtree(tmp / SWEEP_EMBEDDING)
        estimator.set_params(embedding=None)  # the saved model is self-contained; the path is gone
    with timed(timings, "save_model"):
        estimator.save(tmp / "model")
    doc["timings"] = timings
    atomic_write_json(tmp / "metrics.json", doc)


def write_analysis_files(tmp: Path, dataset: Dataset, X, Z, fitted: Fitted, *, method: str, explain: bool, plot: bool) -> None:
    """The report's inputs (embedding_2d.npz, images.npz, snapshots.npz) and explain/."""
    from deepclust.methods.registry import METHODS
    from deepclust.reporting.assets import write_embedding_2d, write_images, write_npz

    labels, estimator, recorder = fitted.labels, fitted.estimator, fitted.recorder
    write_embedding_2d(tmp / "embedding_2d.npz", Z, labels, estimator=estimator, y_true=dataset.y, nearest_centre=METHODS[method].nearest_centre)
    if dataset.image_shape is not None:
        write_images(tmp / "images.npz", X, Z, labels, estimator, dataset.image_shape)
    if recorder is not None and len(recorder.arrays()["epoch"]):
        write_npz(tmp / "snapshots.npz", **recorder.arrays())
    if explain:
        from deepclust.explain import explain_clusters

        covariates = dataset.metadata.reset_index(drop=True) if dataset.metadata is not None else None
        explain_clusters(dataset.X, labels, feature_names=dataset.feature_names, covariates=covariates).write(tmp / "explain", plot=plot)

"""A run folder: fit a method on a dataset and write labels, metrics, a plot and the model.

Layout of ``DIR`` (written atomically: the folder appears complete or not at all)::

    labels.csv        sample_id, cluster
    metrics.json      run description and metrics (internal always, external with labels)
    embedding.png     2-D view of the clustered representation, coloured by cluster
    history.json      per-epoch training losses (deep methods)
    preprocess.json   the scaling applied before the model, replayed by predict
    model/            the saved estimator (JSON + safetensors)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from deepclust._io import atomic_directory, atomic_open, atomic_write_json
from deepclust._version import __version__
from deepclust.datasets import Dataset
from deepclust.methods import build_method, load_model
from deepclust.metrics import evaluate
from deepclust.preprocess import apply_scaling, fit_scaling


@dataclass(frozen=True)
class RunResult:
    """What :func:`fit_run` produced."""

    out_dir: Path
    labels: np.ndarray
    metrics: dict
    seconds: float
    model: object


def default_out_dir(dataset: str, method: str, root: str | Path = "runs") -> Path:
    """``runs/<dataset>-<method>-<timestamp>``: a new folder name for a run."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset)
    return Path(root) / f"{safe}-{method}-{stamp}"


def _resolve_n_clusters(n_clusters, dataset: Dataset) -> int:
    if n_clusters is not None:
        return n_clusters
    if dataset.y is None:
        raise ValueError(f"dataset {dataset.name!r} has no labels, so the number of clusters must be given (--n-clusters K)")
    return int(len(np.unique(dataset.y)))


def _write_labels(path: Path, sample_ids, labels: np.ndarray) -> None:
    frame = pd.DataFrame({"sample_id": np.asarray(sample_ids).astype(str), "cluster": labels.astype(np.int64)})
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        frame.to_csv(fh, index=False)


def fit_run(
    dataset: Dataset,
    *,
    method: str = "n2d",
    n_clusters: int | None = None,
    out: str | Path | None = None,
    seed: int | None = 0,
    scale: str = "auto",
    overwrite: bool = False,
    autoencoder_options: dict | None = None,
    plot: bool = True,
) -> RunResult:
    """Cluster ``dataset`` with ``method`` and write a run folder.

    Parameters
    ----------
    dataset : Dataset
    method : str, default="n2d"
        A name from :data:`deepclust.methods.METHODS`.
    n_clusters : int or None
        None uses the number of reference classes (an error when the labels are unknown).
    out : path or None
        The run folder; None makes a new one under ``runs/``. An existing folder is an error
        unless ``overwrite``; it is replaced only once the new run is complete.
    seed : int or None, default=0
    scale : {"auto", "none", "standard", "minmax"}, default="auto"
        "auto": none for image datasets (already in [0, 1]), "standard" for everything else.
    autoencoder_options : dict, optional
        Options of the autoencoder (pretraining, for the clustering-loss methods): ``epochs``,
        ``batch_size``, ``latent_dim``, ``lr``, ``network``, ``device``, ``precision``, ``verbose``.
    plot : bool, default=True
    """
    k = _resolve_n_clusters(n_clusters, dataset)
    # The autoencoder options always configure the embedding (pretraining for DEC, IDEC, DCN,
    # VaDE), whatever parameters of the same name the method itself has; verbose goes to both.
    options = dict(autoencoder_options or {})
    estimator = build_method(method, k, seed, embedding=options, verbose=options.get("verbose"), image_shape=dataset.image_shape)  # validates the name first
    out = Path(out) if out is not None else default_out_dir(dataset.name, method)
    if scale == "auto":
        scale = "none" if dataset.image_shape is not None else "standard"
    with atomic_directory(out, overwrite=overwrite) as tmp:
        X, scaling = fit_scaling(scale, dataset.X)
        t0 = time.perf_counter()
        estimator.fit(X)
        seconds = time.perf_counter() - t0
        labels = np.asarray(estimator.labels_)
        Z = estimator.transform(X)
        metrics = evaluate(labels, X=Z, y_true=dataset.y)
        doc = {
            "dataset": dataset.name,
            "n_samples": dataset.n_samples,
            "n_features": dataset.n_features,
            "method": method,
            "n_clusters": k,
            "seed": seed,
            "scale": scale,
            "fit_seconds": round(seconds, 3),
            "deepclust_version": __version__,
            "internal_metrics_space": "the representation that was clustered (estimator.transform)",
            "metrics": metrics,
        }
        _write_labels(tmp / "labels.csv", dataset.sample_ids, labels)
        atomic_write_json(tmp / "metrics.json", doc)
        atomic_write_json(tmp / "preprocess.json", scaling)
        history = getattr(getattr(estimator, "embedding_", None), "history_", None)
        if history:
            atomic_write_json(tmp / "history.json", history)
        if plot:
            from deepclust.plotting import plot_embedding, save_figure

            ax = plot_embedding(Z, labels, title=f"{method} on {dataset.name}: {k} clusters", random_state=0)
            save_figure(ax.figure, tmp / "embedding.png")
        estimator.save(tmp / "model")
    return RunResult(out_dir=out, labels=labels, metrics=doc, seconds=seconds, model=estimator)


def _model_folder(path: Path) -> tuple[Path, Path | None]:
    """Accept a run folder (with ``model/``) or a model folder; return (model dir, run dir)."""
    if (path / "model" / "model.json").is_file():
        return path / "model", path
    return path, None


def predict_run(model: str | Path, dataset: Dataset, *, out: str | Path | None = None, overwrite: bool = False) -> tuple[np.ndarray, dict | None]:
    """Label ``dataset`` with a saved model (a run folder or a model folder).

    Applies the run's saved scaling first. Writes ``sample_id, cluster`` to ``out`` (CSV)
    when given. Returns the labels and, when the dataset has reference labels, the metrics.
    """
    model_dir, run_dir = _model_folder(Path(model))
    estimator = load_model(model_dir)
    X = dataset.X
    if run_dir is not None and (run_dir / "preprocess.json").is_file():
        X = apply_scaling(json.loads((run_dir / "preprocess.json").read_text(encoding="utf-8")), X)
    if out is not None:
        out = Path(out)
        if out.exists() and not overwrite:
            raise FileExistsError(f"output file {str(out)!r} already exists; pass --overwrite to replace it")
        if not out.parent.is_dir():
            raise FileNotFoundError(f"output folder {str(out.parent)!r} does not exist")
    labels = estimator.predict(X)
    metrics = evaluate(labels, y_true=dataset.y) if dataset.y is not None else None
    if out is not None:
        _write_labels(out, dataset.sample_ids, labels)
    return labels, metrics
